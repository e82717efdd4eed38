import type { TransitionResult } from '../../domain/outcomes.js';
import { isTerminal } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Transitions } from './transitions.js';

/**
 * Cancelling jobs that have not finished. A running job's worker hears it at once when it runs in
 * this process (onRunningCancelled: its AbortSignal fires), or on its next heartbeat when remote.
 */
export class Cancels {
  private readonly listeners = new Set<(jobId: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly clock: Clock,
  ) {}

  async cancel(id: string, reason = 'cancelled_by_user'): Promise<TransitionResult> {
    for (let tries = 0; tries < 5; tries++) {
      const job = await this.store.getJob(id);
      if (!job) return { ok: false, reason: 'not_found' };
      if (isTerminal(job.state)) return { ok: false, reason: 'wrong_state', state: job.state };
      const now = this.clock.now();
      const [res] = await this.transitions.apply([{ id, from: [job.state], to: 'cancelled', patch: { stateReason: reason, leaseExpiresAt: null, finishedAt: now }, now }]);
      if (res!.ok) {
        if (job.state === 'running') for (const l of this.listeners) l(id);
        return res!;
      }
      // The job moved between the read and the write (claimed, completed): look again.
    }
    const job = await this.store.getJob(id);
    return job ? { ok: false, reason: 'wrong_state', state: job.state } : { ok: false, reason: 'not_found' };
  }

  /** Calls `listener` with the id of every running job that gets cancelled here. */
  onRunningCancelled(listener: (jobId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
