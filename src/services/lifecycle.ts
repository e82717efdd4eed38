import type { Job } from '../domain/job.js';
import type { JobState, TransitionCause } from '../domain/states.js';

/** One change of a job's state, as it happened. `from` is null for a new job. */
export interface LifecycleEvent {
  job: Job;
  from: JobState | null;
  to: JobState;
  cause: TransitionCause | 'submitted';
  at: number;
}

export type LifecycleListener = (event: LifecycleEvent) => void;

interface Entry {
  listener: LifecycleListener;
  /** The states whose arrivals it hears; null: every change. */
  to: ReadonlySet<JobState> | null;
}

/**
 * In-process fan-out of lifecycle events (workers hear cancellations here; the event bus,
 * SSE and webhooks subscribe in later layers). Emitting costs nothing when nobody listens, and a
 * listener of some states only (the server's dead-letter log hears `failed`) costs nothing on the
 * others: `hears('succeeded')` stays false, so a completion batch reads no job back for it.
 */
export class Lifecycle {
  private entries: Entry[] = [];

  get active(): boolean {
    return this.entries.length > 0;
  }

  /** Whether a listener hears jobs arriving in `state`. */
  hears(state: JobState): boolean {
    return this.entries.some((e) => e.to === null || e.to.has(state));
  }

  /** Listens to every change, or only to arrivals in the states `to` lists. */
  on(listener: LifecycleListener, to?: readonly JobState[]): () => void {
    const entry: Entry = { listener, to: to ? new Set(to) : null };
    this.entries = [...this.entries, entry];
    return () => {
      this.entries = this.entries.filter((e) => e !== entry);
    };
  }

  emit(event: LifecycleEvent): void {
    for (const e of this.entries) {
      if (e.to !== null && !e.to.has(event.to)) continue;
      try {
        e.listener(event);
      } catch {
        // A listener's failure must not break the state change that already happened.
      }
    }
  }
}
