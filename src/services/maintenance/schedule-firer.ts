import { DocketError } from '../../domain/errors.js';
import { FIRE_LABEL, SCHEDULE_LABEL, type ScheduleRecord } from '../../domain/schedule.js';
import { isTerminal } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { ScheduleStore } from '../../ports/schedule-store.js';
import type { Store } from '../../ports/store.js';
import type { Jobs } from '../jobs/index.js';
import type { SubmitPlan } from '../jobs/submit-pipeline.js';
import { planOf, type ScheduleService } from '../schedule-service.js';
import { Periodic } from './periodic.js';

export interface ScheduleFirerOptions {
  /** Longest sleep: new and changed schedules (on any node) are seen within it. @defaultValue 1000 ms */
  maxIntervalMs: number;
  /**
   * A fire seen later than this is missed (the scheduler was down, or leadership was moving) and
   * goes by the schedule's catch-up policy; a fire seen sooner always fires. @defaultValue 60 000 ms
   */
  misfireGraceMs: number;
  /** Schedules read per page. @defaultValue 200 */
  batchSize: number;
  /** Fire records kept this long (the unique key needs them only while a fire may be retried). @defaultValue 7 days */
  fireRetentionMs: number;
}

export const DEFAULT_FIRER_OPTIONS: ScheduleFirerOptions = {
  maxIntervalMs: 1000,
  misfireGraceMs: 60_000,
  batchSize: 200,
  fireRetentionMs: 7 * 86_400_000,
};

/** Most on-time fires handled per schedule and run (a seconds-field expression after a long pause of the loop). */
const MAX_ON_TIME = 1000;
const PRUNE_EVERY_MS = 3_600_000;

/** What one run did, for tests and logs. */
export interface FireCounts {
  fired: number;
  skipped: number;
  /** Fires another node had recorded already. */
  duplicates: number;
}

/**
 * Fires due cron schedules: a leader duty, started with the other maintenance loops. It sleeps
 * until the earliest next fire (at most maxIntervalMs), then for each due schedule submits one job
 * per fire time, each inserted with its fire record in one transaction whose unique key
 * (schedule, fire time) makes a second node's attempt a no-op. Missed fires (downtime) follow the
 * schedule's catch-up policy; overlap with an unfinished previous job follows its overlap policy.
 * Built on Periodic like the Promoter (MaintenanceLoop has a fixed interval; this one re-arms to
 * the next fire).
 */
export class ScheduleFirer {
  private readonly loop: Periodic;
  private readonly options: ScheduleFirerOptions;
  private unsubscribe: (() => void) | null = null;
  private lastPrune = 0;

  constructor(
    private readonly schedules: ScheduleService,
    private readonly service: Jobs,
    private readonly jobs: Store,
    private readonly clock: Clock,
    options: Partial<ScheduleFirerOptions> = {},
    private readonly onError: (err: unknown) => void,
  ) {
    this.options = { ...DEFAULT_FIRER_OPTIONS, ...options };
    this.loop = new Periodic(clock, this.options.maxIntervalMs, () => this.runOnce(), onError);
  }

  private get store(): ScheduleStore {
    return this.schedules.store;
  }

  start(): void {
    this.loop.start();
    this.unsubscribe = this.schedules.onChange(() => void this.rearm().catch(this.onError));
    // The first run applies catch-up to fires missed while no scheduler ran.
    this.loop.arm(0);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.loop.stop();
  }

  /** Fires every due schedule once; returns what it did. */
  async runOnce(): Promise<FireCounts> {
    const counts: FireCounts = { fired: 0, skipped: 0, duplicates: 0 };
    const now = this.clock.now();
    let after: string | undefined;
    for (;;) {
      const due = await this.store.dueSchedules(now, this.options.batchSize, after);
      for (const s of due) {
        try {
          await this.fireSchedule(s, now, counts);
        } catch (err) {
          // One broken schedule must not stop the others; it is tried again next run.
          this.onError(err);
        }
      }
      if (due.length < this.options.batchSize) break;
      after = due[due.length - 1]!.id;
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.store.pruneFires(now - this.options.fireRetentionMs, 10_000);
    }
    await this.rearm();
    return counts;
  }

  private async rearm(): Promise<void> {
    const next = await this.store.earliestFireAt();
    if (next !== null) this.loop.arm(Math.min(this.options.maxIntervalMs, Math.max(0, next - this.clock.now())));
  }

  private async fireSchedule(s: ScheduleRecord, now: number, counts: FireCounts): Promise<void> {
    const plan = planOf(s);
    const fires = this.dueFires(s, plan, now);
    let lastJobId = s.lastJobId;
    for (const fireAt of fires) {
      const previous = lastJobId ? await this.jobs.getJob(lastJobId) : undefined;
      const running = previous !== undefined && !isTerminal(previous.state);
      if (running && s.overlap === 'skip') {
        const { recorded } = await this.store.recordFire({ scheduleId: s.id, fireAt, outcome: 'skipped', jobId: null, recordedAt: now }, null);
        if (recorded) counts.skipped++;
        else counts.duplicates++;
        continue;
      }
      if (running && s.overlap === 'cancel-previous') await this.service.cancels.cancel(previous.id, 'schedule_overlap');
      const plan = await this.planFire(s, fireAt, now);
      if (!plan) break;
      const { row } = plan.rows[0]!;
      const fire = await this.store.recordFire({ scheduleId: s.id, fireAt, outcome: 'fired', jobId: row.id, recordedAt: now }, row, plan.claims?.[0] ?? null);
      if (!fire.recorded) counts.duplicates++;
      else if (fire.heldBy) counts.skipped++; // its dedup key is held by a job still doing its work: the fire made nothing
      else {
        counts.fired++;
        lastJobId = row.id;
        await this.service.submitter.publish(plan.rows, now);
      }
    }
    // From the first fire after now: the ones skipped by catch-up are not looked at again.
    await this.store.advanceSchedule(s.id, s.nextFireAt, plan.nextAfter(now));
  }

  /**
   * The fire times to handle now, oldest first: those since nextFireAt seen within the grace
   * period (on time), and of the missed ones before it what the catch-up policy keeps: none, the
   * latest (only when no on-time fire stands for it), or the newest catchUpLimit.
   */
  private dueFires(s: ScheduleRecord, plan: ReturnType<typeof planOf>, now: number): number[] {
    if (s.nextFireAt === null || s.nextFireAt > now) return [];
    const cutoff = now - this.options.misfireGraceMs;
    const onTime: number[] = [];
    for (let at = plan.nextAfter(Math.max(s.nextFireAt, cutoff) - 1); at !== null && at <= now && onTime.length < MAX_ON_TIME; at = plan.nextAfter(at)) {
      onTime.push(at);
    }
    if (s.nextFireAt >= cutoff || s.catchUp === 'none') return onTime;
    if (s.catchUp === 'latest' && onTime.length > 0) return onTime;
    const keep = s.catchUp === 'latest' ? 1 : s.catchUpLimit;
    const missed = plan.previousBefore(cutoff, keep).filter((at) => at >= s.nextFireAt!);
    return [...missed.reverse(), ...onTime];
  }

  /**
   * The job of one fire, planned by the submit pipeline like any submit of the schedule's tenant
   * (templates, validation with today's limits, routing, dedup), labelled with its schedule and fire
   * time; or null when it no longer passes (a lower payload limit since): reported, and the fire
   * dropped, so a broken schedule does not fail again every second.
   */
  private async planFire(s: ScheduleRecord, fireAt: number, now: number): Promise<SubmitPlan | null> {
    try {
      const labels = { [SCHEDULE_LABEL]: s.id, [FIRE_LABEL]: new Date(fireAt).toISOString() };
      return await this.service.pipeline.plan([s.job], { tenant: s.tenant }, now, { basePath: '/job', labels });
    } catch (err) {
      if (!(err instanceof DocketError)) throw err;
      this.onError(new Error(`schedule ${s.id} (${s.tenant}/${s.name}): its job no longer validates, fire dropped: ${err.message}`));
      return null;
    }
  }
}
