import { randomUUID } from 'node:crypto';
import { toDispatchEntry, type DispatchEntry, type Job } from '../../domain/job.js';
import type { JobState } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import { MaintenanceLoop } from './periodic.js';

export interface DispatchRepairOptions {
  intervalMs: number;
  /** A job must have been dispatchable this long before it counts as missing (claims in flight). @defaultValue 10 000 ms */
  graceMs: number;
  /** Jobs looked at per run, per state; the next run goes on where this one stopped. @defaultValue 5000 */
  scanPerRun: number;
}

const SCANNED: readonly JobState[] = ['ready', 'scheduled', 'retrying'];

/**
 * Keeps the dispatch index (Redis in production) in line with the store, the truth:
 * - when the index lost everything (FLUSHALL, a Redis restart, a fresh memory index), it is
 *   rebuilt from the store at once;
 * - otherwise the store's dispatchable jobs are scanned a slice at a time and any the index does
 *   not hold are put back (a process that died between taking an entry and claiming the job, or
 *   between taking a due entry and promoting it, leaves exactly that behind).
 * Running jobs need nothing here: their leases run out and the lease reaper requeues them.
 */
export class DispatchRepair extends MaintenanceLoop {
  private readonly cursors = new Map<JobState, string | undefined>();

  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly clock: Clock,
    private readonly options: DispatchRepairOptions,
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
  }

  /**
   * Returns how many jobs were put back (all of them after a rebuild). `takeover`: this process
   * just became leader; only a leader promotes, so a delayed job missing from the index now was
   * lost by the previous leader and needs no grace.
   */
  async runOnce(takeover = false): Promise<number> {
    if ((await this.dispatch.rebuiltAs()) === null) {
      // Marked first: should this process die mid-rebuild, the scans below still find the rest.
      await this.dispatch.markRebuilt(randomUUID());
      return this.rebuild();
    }
    let repaired = 0;
    for (const state of SCANNED) repaired += await this.scan(state, takeover && state !== 'ready' ? 0 : this.options.graceMs);
    return repaired;
  }

  /** Loads every dispatchable job from the store into the dispatch index (start-up, after a crash). */
  private async rebuild(): Promise<number> {
    await this.service.pauses.refresh();
    let n = 0;
    let ready: DispatchEntry[] = [];
    let delayed: DispatchEntry[] = [];
    const flush = async () => {
      if (delayed.length > 0) await this.dispatch.schedule(delayed);
      if (ready.length > 0) await this.dispatch.enqueue(ready);
      ready = [];
      delayed = [];
    };
    for await (const { entry, state } of this.store.loadDispatchable()) {
      (state === 'ready' ? ready : delayed).push(entry);
      if (++n % 10_000 === 0) await flush();
    }
    await flush();
    return n;
  }

  private async scan(state: JobState, graceMs: number): Promise<number> {
    const page = await this.store.listJobs({ state }, this.options.scanPerRun, this.cursors.get(state));
    this.cursors.set(state, page.nextCursor ?? undefined);
    const cutoff = this.clock.now() - graceMs;
    const overdue = page.jobs.filter((j) => (state === 'ready' ? j.updatedAt : j.runAt) < cutoff);
    const gone = new Set(await this.dispatch.missing(overdue.map((j) => j.id)));
    if (gone.size === 0) return 0;
    const lost: Job[] = overdue.filter((j) => gone.has(j.id));
    if (state === 'ready') await this.dispatch.enqueue(lost.map(toDispatchEntry));
    else await this.dispatch.schedule(lost.map(toDispatchEntry));
    return lost.length;
  }
}
