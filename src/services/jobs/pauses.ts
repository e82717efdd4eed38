import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { Store } from '../../ports/store.js';

/**
 * Paused queues hand out no job; submits are still accepted. The store holds the truth (any node
 * may pause); each node keeps the set, reloads it when another node announces a change through
 * the dispatch, and once a second anyway (Housekeeper: an announcement lost while Redis was down),
 * and claims check it.
 */
export class QueuePauses {
  private paused = new Set<string>();
  private version = 0;
  /** Aborted (and replaced) whenever a queue is resumed: wakes claims waiting on paused queues. */
  private resumed = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly dispatch: Pick<Dispatch, 'announcePauses' | 'onPausesChanged'>,
  ) {
    // A failed reload keeps the set it had: the housekeeper's next one tries again.
    dispatch.onPausesChanged(() => void this.refresh().catch(() => {}));
  }

  /** Pauses or resumes a queue. */
  async set(queue: string, paused: boolean): Promise<void> {
    await this.store.setQueuePaused(queue, paused, this.clock.now());
    this.version++;
    this.apply(paused ? new Set([...this.paused, queue]) : new Set([...this.paused].filter((q) => q !== queue)));
    // Done once stored; an announcement that fails (Redis down) leaves the other nodes to their reload.
    await this.dispatch.announcePauses().catch(() => {});
  }

  /** Reloads which queues are paused (another process may have changed it). */
  async refresh(): Promise<void> {
    const version = this.version;
    const paused = await this.store.pausedQueues();
    // A pause or resume made here while the read was in flight is newer than what was read.
    if (version === this.version) this.apply(new Set(paused));
  }

  isPaused(queue: string): boolean {
    return this.paused.has(queue);
  }

  /** The queues of `queues` that are not paused. */
  open(queues: readonly string[]): readonly string[] {
    return this.paused.size === 0 ? queues : queues.filter((q) => !this.paused.has(q));
  }

  /** Fires when any queue is resumed (a waiting claim must look again). */
  get resumedSignal(): AbortSignal {
    return this.resumed.signal;
  }

  private apply(next: Set<string>): void {
    const resumedAny = [...this.paused].some((q) => !next.has(q));
    this.paused = next;
    if (resumedAny) {
      this.resumed.abort();
      this.resumed = new AbortController();
    }
  }
}
