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

/**
 * In-process fan-out of lifecycle events (workers hear cancellations here; the event bus,
 * SSE and webhooks subscribe in later layers). Emitting costs nothing when nobody listens.
 */
export class Lifecycle {
  private listeners: LifecycleListener[] = [];

  get active(): boolean {
    return this.listeners.length > 0;
  }

  on(listener: LifecycleListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  emit(event: LifecycleEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not break the state change that already happened.
      }
    }
  }
}
