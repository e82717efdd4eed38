/** What happens to recovery conditions, for logs, metrics and the events stream. */
export type RecoveryEvent =
  /** The first failure under it: the job that hit it (queue, type) and its error. */
  | { type: 'opened'; condition: string; queue: string; jobType: string; error: string; at: number }
  | { type: 'probe'; condition: string; jobId: string; at: number }
  | { type: 'probe_failed'; condition: string; jobId: string; at: number }
  | { type: 'cleared'; condition: string; at: number }
  | { type: 'reopened'; condition: string; at: number }
  | { type: 'exhausted'; condition: string; jobs: number; at: number }
  | { type: 'closed'; condition: string; reason: string; at: number };

/** Every type of recovery event (the metrics show each from the first scrape, at 0). */
export const RECOVERY_EVENT_TYPES: readonly RecoveryEvent['type'][] = ['opened', 'probe', 'probe_failed', 'cleared', 'reopened', 'exhausted', 'closed'];

/** In-process listeners of recovery events (the events issue forwards them to Kafka). */
export class RecoveryEvents {
  private readonly listeners = new Set<(e: RecoveryEvent) => void>();

  on(listener: (e: RecoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: RecoveryEvent): void {
    for (const l of this.listeners) l(event);
  }
}
