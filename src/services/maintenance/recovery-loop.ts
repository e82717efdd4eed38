import { probeDelayMs } from '../../domain/recovery/policy.js';
import { releasable, type ReleasePace } from '../../domain/recovery/release-pace.js';
import type { Clock } from '../../ports/clock.js';
import type { ConditionRecord, Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import type { RecoveryEvents } from '../recovery-events.js';
import { MaintenanceLoop } from './periodic.js';

export interface RecoveryLoopOptions {
  /** How often conditions are looked at. @defaultValue 250 ms */
  intervalMs: number;
}

/** Most jobs moved in one store call; a run releasing more (thousands per second) takes several pages. */
const PAGE = 1000;

/**
 * Runs every recovery condition through its life (leader only):
 * open -- probe due --> probing (one parked job released to test the condition)
 * probing -- probe succeeded --> releasing (parked jobs back to the queue at the policy's ramping rate)
 * probing -- probe parked again --> open (next probe after backoff)
 * releasing -- a released job hit the condition again --> open
 * releasing -- nothing parked any more --> closed (the record is deleted)
 * and fails jobs parked longer than the policy allows. Every decision is read from the store, so a
 * new leader picks up where the last one stopped.
 */
export class RecoveryLoop extends MaintenanceLoop {
  constructor(
    private readonly service: Jobs,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly events: RecoveryEvents,
    options: RecoveryLoopOptions,
    onError: (err: unknown) => void,
  ) {
    super(clock, options.intervalMs, onError);
    this.intervalMs = options.intervalMs;
  }

  private readonly intervalMs: number;
  /** Release pacing per releasing condition (this process's; a new leader starts with none). */
  private readonly pace = new Map<string, ReleasePace>();

  async runOnce(): Promise<void> {
    const counts = await this.store.parkedCounts();
    const parked = new Map<string, number>();
    for (const c of counts) parked.set(c.condition, (parked.get(c.condition) ?? 0) + c.count);
    const conditions = await this.store.listConditions();
    for (const condition of conditions) await this.step(condition, parked.get(condition.key) ?? 0);
    // Jobs parked under a condition that was closed meanwhile (a gate not yet refreshed parked
    // them): reopen it, so they are probed and released like the others.
    const known = new Set(conditions.map((c) => c.key));
    const now = this.clock.now();
    for (const key of parked.keys()) {
      if (!known.has(key)) await this.store.recordConditionFailure(key, 'jobs parked after the condition closed', now, now);
    }
  }

  private async step(c: ConditionRecord, parked: number): Promise<void> {
    const now = this.clock.now();
    const policy = this.service.parking.policyFor(c.key);
    await this.abandonOverdue(c, now, policy.maxParkSeconds * 1000);
    if (c.status === 'open') {
      if (parked === 0) return this.close(c, 'nothing parked');
      if (now < c.nextProbeAt) return;
      const [job] = await this.store.listParked(c.key, 1);
      if (!job) return;
      const [probe] = await this.service.parking.release([job], 'probe');
      if (!probe) return; // moved meanwhile (cancelled); try again next run
      if (await this.save(c, { status: 'probing', probeJobId: probe.id }, now)) this.events.emit({ type: 'probe', condition: c.key, jobId: probe.id, at: now });
      return;
    }
    if (c.status === 'probing') {
      const probe = c.probeJobId ? await this.store.getJob(c.probeJobId) : undefined;
      if (probe?.state === 'succeeded') {
        if (await this.save(c, { status: 'releasing', releasingSince: now, released: 0, probeFailures: 0, probeJobId: null }, now)) {
          this.events.emit({ type: 'cleared', condition: c.key, at: now });
        }
        return;
      }
      if (probe?.state === 'blocked' && probe.condition === c.key) {
        const failures = c.probeFailures + 1;
        if (await this.save(c, { status: 'open', probeJobId: null, probeFailures: failures, nextProbeAt: now + probeDelayMs(policy, failures) }, now)) {
          this.events.emit({ type: 'probe_failed', condition: c.key, jobId: probe.id, at: now });
        }
        return;
      }
      // Still on its way (ready, running, retrying), or it ended otherwise (cancelled, failed for
      // another reason): that tells nothing about the condition, so probe again.
      if (!probe || probe.state === 'cancelled' || probe.state === 'expired' || probe.state === 'failed' || probe.state === 'blocked') {
        await this.save(c, { status: 'open', probeJobId: null, nextProbeAt: now }, now);
      }
      return;
    }
    // releasing
    if (c.releasingSince !== null && c.lastSeenAt > c.releasingSince) {
      // A released job hit the condition again: it is not over. Stop releasing, probe later.
      if (await this.save(c, { status: 'open', probeFailures: 1, nextProbeAt: now + probeDelayMs(policy, 1), releasingSince: null }, now)) {
        this.events.emit({ type: 'reopened', condition: c.key, at: now });
      }
      return;
    }
    if (parked === 0) return this.close(c, 'all released');
    const since = c.releasingSince ?? now;
    const { due, pace } = releasable(policy, since, c.released, this.pace.get(c.key), now, this.intervalMs);
    this.pace.set(c.key, pace);
    let released = 0;
    while (released < due) {
      const jobs = await this.store.listParked(c.key, Math.min(PAGE, due - released));
      if (jobs.length === 0) break;
      const moved = (await this.service.parking.release(jobs, 'released')).length;
      released += moved;
      if (moved < jobs.length) break; // some moved meanwhile (cancelled): the next run takes others
    }
    if (released === 0) return;
    pace.bucket.tokens -= released;
    await this.save(c, { released: c.released + released }, now);
  }

  private async abandonOverdue(c: ConditionRecord, now: number, maxParkMs: number): Promise<void> {
    const overdue = (await this.store.listParked(c.key, PAGE)).filter((j) => j.blockedAt !== null && j.blockedAt <= now - maxParkMs);
    if (overdue.length === 0) return;
    const n = await this.service.parking.abandon(overdue, `parked under condition ${c.key} for longer than ${Math.round(maxParkMs / 1000)} s`);
    if (n > 0) this.events.emit({ type: 'exhausted', condition: c.key, jobs: n, at: now });
  }

  private async close(c: ConditionRecord, why: string): Promise<void> {
    this.pace.delete(c.key);
    await this.store.deleteCondition(c.key);
    this.events.emit({ type: 'closed', condition: c.key, reason: why, at: this.clock.now() });
  }

  /** Saves a change unless another leader changed the record meanwhile (then the next run re-reads it). */
  private async save(c: ConditionRecord, change: Partial<ConditionRecord>, now: number): Promise<boolean> {
    const next = { ...c, ...change, updatedAt: Math.max(now, c.updatedAt + 1) };
    const saved = await this.store.saveCondition(next, c.updatedAt);
    if (saved) Object.assign(c, next);
    return saved;
  }
}
