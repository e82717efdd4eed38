import { v7 as uuidv7 } from 'uuid';
import { DocketError } from '../../domain/errors.js';
import { DEFAULT_INPUT_LIMITS, toJobSpec, type InputLimits } from '../../domain/job-input.js';
import { toDispatchEntry } from '../../domain/job.js';
import { FIRE_LABEL, SCHEDULE_LABEL, type ScheduleRecord } from '../../domain/schedule.js';
import { isTerminal } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { ScheduleStore } from '../../ports/schedule-store.js';
import type { NewJob, Store } from '../../ports/store.js';
import type { JobService } from '../job-service.js';
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
  limits: InputLimits;
}

export const DEFAULT_FIRER_OPTIONS: ScheduleFirerOptions = {
  maxIntervalMs: 1000,
  misfireGraceMs: 60_000,
  batchSize: 200,
  fireRetentionMs: 7 * 86_400_000,
  limits: DEFAULT_INPUT_LIMITS,
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
    private readonly service: JobService,
    private readonly jobs: Store,
    private readonly dispatch: Dispatch,
    private readonly clock: Clock,
    options: Partial<ScheduleFirerOptions> = {},
    private readonly onError: (err: unknown) => void = () => {},
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
        const recorded = await this.store.recordFire({ scheduleId: s.id, fireAt, outcome: 'skipped', jobId: null, recordedAt: now }, null);
        if (recorded) counts.skipped++;
        else counts.duplicates++;
        continue;
      }
      if (running && s.overlap === 'cancel-previous') await this.service.cancel(previous.id, 'schedule_overlap');
      const job = this.templateJob(s, fireAt, now);
      if (!job) break;
      if (await this.store.recordFire({ scheduleId: s.id, fireAt, outcome: 'fired', jobId: job.id, recordedAt: now }, job)) {
        counts.fired++;
        lastJobId = job.id;
        await this.publish(job.id, now);
      } else {
        counts.duplicates++;
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
   * The job of one fire, or null when the template no longer passes (a lower payload limit since):
   * reported, and the fire dropped, so a broken schedule does not fail again every second.
   */
  private templateJob(s: ScheduleRecord, fireAt: number, now: number): NewJob | null {
    try {
      return this.jobOf(s, fireAt, now);
    } catch (err) {
      if (!(err instanceof DocketError)) throw err;
      this.onError(new Error(`schedule ${s.id} (${s.tenant}/${s.name}): its job no longer validates, fire dropped: ${err.message}`));
      return null;
    }
  }

  /** The job of one fire: the schedule's template, validated again (limits may have changed), labelled with its schedule and fire time. */
  private jobOf(s: ScheduleRecord, fireAt: number, now: number): NewJob {
    const spec = toJobSpec(s.job, now, this.options.limits, '/job');
    const id = uuidv7();
    return {
      id,
      tenant: s.tenant,
      queue: spec.queue,
      type: spec.type,
      payloadJson: spec.payloadJson,
      priority: spec.priority,
      labels: { ...spec.labels, [SCHEDULE_LABEL]: s.id, [FIRE_LABEL]: new Date(fireAt).toISOString() },
      state: spec.runAt > now ? 'scheduled' : 'ready',
      runAt: spec.runAt,
      expiresAt: spec.expiresAt,
      timeoutMs: spec.timeoutMs,
      maxAttempts: spec.maxAttempts,
      backoff: spec.backoff,
      linkId: spec.linkId ?? id,
      resubmittedFrom: null,
      createdAt: now,
      callbackUrl: spec.callbackUrl,
    };
  }

  /** After the commit: the new job into the dispatch index (waking idle workers), and to lifecycle listeners. */
  private async publish(jobId: string, now: number): Promise<void> {
    const job = await this.jobs.getJob(jobId);
    if (!job) return;
    if (job.state === 'ready') await this.dispatch.enqueue([toDispatchEntry(job)]);
    else if (job.state === 'scheduled') await this.dispatch.schedule([toDispatchEntry(job)]);
    if (this.service.lifecycle.active) this.service.lifecycle.emit({ job, from: null, to: job.state, cause: 'submitted', at: now });
  }
}
