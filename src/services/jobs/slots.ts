import type { DispatchEntry } from '../../domain/job.js';
import type { Dispatch, FairnessPolicy } from '../../ports/dispatch.js';

type Place = { id: string; queue: string; tenant: string };

/** Claimed jobs of capped queues remembered here at most; the oldest are forgotten first (see hold). */
const MAX_REMEMBERED = 1_000_000;

/**
 * Running slots of tenants in capped queues (config `fairness` caps, docs/fairness.md). The
 * dispatch counts them, in the same atomic step as the take; this decides when a slot is freed:
 * when a claimed job stops running here, whatever way it stops. A completion carries only the job
 * id, so claimed jobs are remembered (id -> queue, tenant) until they stop. A job that stops
 * through another process, or a count lost with a crash, is corrected by the leader's running
 * sweep (services/maintenance/running-sweep.ts), which compares the counts with the store.
 */
export class TenantSlots {
  private readonly held = new Map<string, Place>();

  constructor(
    private readonly dispatch: Dispatch,
    private readonly fairness: FairnessPolicy | null,
  ) {}

  /** Whether any slot is accounted for: false without fairness caps (nothing to do anywhere). */
  get active(): boolean {
    return this.fairness !== null;
  }

  /** Entries taken for a claim: the claimed ones hold their slot until they stop, the others free it now. */
  async hold(entries: readonly DispatchEntry[], claimed: ReadonlySet<string>): Promise<void> {
    if (!this.fairness) return;
    const unclaimed: Place[] = [];
    for (const e of entries) {
      if (!this.fairness.capped(e.queue)) continue;
      if (claimed.has(e.id)) this.held.set(e.id, { id: e.id, queue: e.queue, tenant: e.tenant });
      else unclaimed.push(e);
    }
    // Jobs finished elsewhere are never seen here: forget the oldest (Map keeps insertion order); the sweep corrects their counts.
    for (const id of this.held.keys()) {
      if (this.held.size <= MAX_REMEMBERED) break;
      this.held.delete(id);
    }
    if (unclaimed.length > 0) await this.free(unclaimed);
  }

  /** Jobs that stopped running (any way out of running): their slots are freed. */
  async stopped(jobs: readonly { id: string; queue: string; tenant: string }[]): Promise<void> {
    if (!this.fairness) return;
    const capped = jobs.filter((j) => this.fairness!.capped(j.queue));
    if (capped.length > 0) await this.free(capped);
  }

  /** Completed jobs, known by id only. */
  async completed(ids: readonly string[]): Promise<void> {
    if (this.held.size === 0) return;
    const done = ids.flatMap((id) => {
      const place = this.held.get(id);
      return place ? [place] : [];
    });
    if (done.length > 0) await this.free(done);
  }

  private async free(places: readonly Place[]): Promise<void> {
    for (const p of places) this.held.delete(p.id);
    await this.dispatch.release(places).catch(() => {}); // a lost release is corrected by the running sweep
  }
}
