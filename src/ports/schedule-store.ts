import type { ScheduleRecord } from '../domain/schedule.js';
import type { Job } from '../domain/job.js';
import type { DedupKey, NewJob } from './store.js';

/** What recordFire did: nothing (another node recorded the fire), or recorded it; `heldBy` is the job holding the job's dedup key, when one did. */
export type FireRecorded = { recorded: false } | { recorded: true; heldBy: Job | null };

export type { ScheduleRecord };

/** What became of one fire time of a schedule. */
export interface ScheduleFire {
  scheduleId: string;
  /** The fire time (epoch ms): with scheduleId, the key that makes a fire happen once. */
  fireAt: number;
  /** `fired`: jobId was submitted; `skipped`: the previous fire's job had not finished (overlap skip). */
  outcome: 'fired' | 'skipped';
  jobId: string | null;
  recordedAt: number;
}

export interface SchedulePage {
  schedules: ScheduleRecord[];
  /** Pass back as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type ScheduleWrite = 'ok' | 'not_found' | 'name_taken';

/**
 * Schedules and their fires, in the same database as the jobs (tables from the store's own
 * migrations). Both adapters pass test/schedule-store.test.ts.
 */
export interface ScheduleStore {
  /** 'name_taken' when the tenant already has a schedule of that name; nothing is written then. */
  insertSchedule(schedule: ScheduleRecord): Promise<ScheduleWrite>;
  getSchedule(id: string): Promise<ScheduleRecord | undefined>;
  /** Oldest first, cursor-paginated by id (UUIDv7). */
  listSchedules(filter: { tenant?: string }, limit: number, after?: string): Promise<SchedulePage>;
  /**
   * Writes what a user may change (name, timing, job, policies, paused), nextFireAt and updatedAt.
   * lastFireAt and lastJobId are the firer's and are left as stored.
   */
  updateSchedule(schedule: ScheduleRecord): Promise<ScheduleWrite>;
  /** Deletes the schedule and its fire records; false when there was none. Its jobs stay. */
  deleteSchedule(id: string): Promise<boolean>;
  /** Schedules not paused whose nextFireAt is at or before `now`, by id after `after`. */
  dueSchedules(now: number, limit: number, after?: string): Promise<ScheduleRecord[]>;
  /** The earliest nextFireAt of the schedules not paused, or null: how long the firer may sleep. */
  earliestFireAt(): Promise<number | null>;
  /**
   * Records a fire and, when `job` is given, inserts it, in one transaction; also sets the
   * schedule's lastFireAt and lastJobId when the fire is newer than the recorded one. The key
   * (scheduleId, fireAt) is unique: when the fire is already recorded (another scheduler node got
   * there first), writes nothing (`recorded: false`). With `dedupKey` (the job's, from the submit
   * pipeline), the key is taken in the same transaction as Store.insertJobsDeduplicated takes it:
   * when another job holds it, the fire is recorded `skipped` with that job and nothing is inserted.
   */
  recordFire(fire: ScheduleFire, job: NewJob | null, dedupKey?: DedupKey | null): Promise<FireRecorded>;
  /**
   * Moves nextFireAt from `expected` to `next`; false (nothing written) when it is no longer
   * `expected` (another node advanced it, or a user changed the schedule).
   */
  advanceSchedule(id: string, expected: number | null, next: number | null): Promise<boolean>;
  /** The schedule's fires, newest first. */
  listFires(scheduleId: string, limit: number): Promise<ScheduleFire[]>;
  /** Forgets fire records written before `before`, at most `limit`; returns how many. */
  pruneFires(before: number, limit: number): Promise<number>;
}
