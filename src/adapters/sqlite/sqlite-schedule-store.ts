import type Database from 'better-sqlite3';
import type { CatchUpPolicy, OverlapPolicy, ScheduleRecord } from '../../domain/schedule.js';
import type { FireRecorded, ScheduleFire, SchedulePage, ScheduleStore, ScheduleWrite } from '../../ports/schedule-store.js';
import type { DedupKey, NewJob } from '../../ports/store.js';
import { statementCache } from './statements.js';
import type { SqliteStore } from './sqlite-store.js';

/** A row of the schedules table. */
interface ScheduleRow {
  id: string;
  tenant: string;
  name: string;
  cron: string;
  timezone: string;
  job: string;
  overlap: OverlapPolicy;
  catch_up: CatchUpPolicy;
  catch_up_limit: number;
  paused: number;
  start_at: number | null;
  end_at: number | null;
  next_fire_at: number | null;
  last_fire_at: number | null;
  last_job_id: string | null;
  created_at: number;
  updated_at: number;
}

interface FireRow {
  schedule_id: string;
  fire_at: number;
  outcome: 'fired' | 'skipped';
  job_id: string | null;
  recorded_at: number;
}

const INSERT = `INSERT INTO schedules (id, tenant, name, cron, timezone, job, overlap, catch_up, catch_up_limit, paused,
  start_at, end_at, next_fire_at, last_fire_at, last_job_id, created_at, updated_at)
  VALUES (@id, @tenant, @name, @cron, @timezone, @job, @overlap, @catchUp, @catchUpLimit, @paused,
  @startAt, @endAt, @nextFireAt, @lastFireAt, @lastJobId, @createdAt, @updatedAt)`;

const UPDATE = `UPDATE schedules SET name = @name, cron = @cron, timezone = @timezone, job = @job, overlap = @overlap,
  catch_up = @catchUp, catch_up_limit = @catchUpLimit, paused = @paused, start_at = @startAt, end_at = @endAt,
  next_fire_at = @nextFireAt, updated_at = @updatedAt WHERE id = @id`;

/** The schedule store of the embedded engine: the SQLite database of its job store. */
export class SqliteScheduleStore implements ScheduleStore {
  private readonly db: Database.Database;
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly store: SqliteStore) {
    this.db = store.db;
    this.stmt = statementCache(this.db);
  }

  async insertSchedule(s: ScheduleRecord): Promise<ScheduleWrite> {
    try {
      this.stmt(INSERT).run(params(s));
      return 'ok';
    } catch (err) {
      if (isUniqueViolation(err)) return 'name_taken';
      throw err;
    }
  }

  async getSchedule(id: string): Promise<ScheduleRecord | undefined> {
    const row = this.stmt('SELECT * FROM schedules WHERE id = ?').get(id) as ScheduleRow | undefined;
    return row && toSchedule(row);
  }

  async listSchedules(filter: { tenant?: string }, limit: number, after?: string): Promise<SchedulePage> {
    const where: string[] = [];
    const values: Record<string, unknown> = { limit: limit + 1 };
    if (filter.tenant !== undefined) {
      where.push('tenant = @tenant');
      values.tenant = filter.tenant;
    }
    if (after !== undefined) {
      where.push('id > @after');
      values.after = after;
    }
    const sql = `SELECT * FROM schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT @limit`;
    const rows = this.stmt(sql).all(values) as ScheduleRow[];
    const schedules = rows.slice(0, limit).map(toSchedule);
    return { schedules, nextCursor: rows.length > limit ? schedules[schedules.length - 1]!.id : null };
  }

  async updateSchedule(s: ScheduleRecord): Promise<ScheduleWrite> {
    try {
      return this.stmt(UPDATE).run(params(s)).changes === 1 ? 'ok' : 'not_found';
    } catch (err) {
      if (isUniqueViolation(err)) return 'name_taken';
      throw err;
    }
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmt('DELETE FROM schedule_fires WHERE schedule_id = ?').run(id);
      return this.stmt('DELETE FROM schedules WHERE id = ?').run(id).changes === 1;
    })();
  }

  async dueSchedules(now: number, limit: number, after?: string): Promise<ScheduleRecord[]> {
    const rows = this.stmt(
      `SELECT * FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL AND next_fire_at <= @now AND id > @after ORDER BY id LIMIT @limit`,
    ).all({ now, after: after ?? '', limit }) as ScheduleRow[];
    return rows.map(toSchedule);
  }

  async earliestFireAt(): Promise<number | null> {
    const row = this.stmt('SELECT min(next_fire_at) AS at FROM schedules WHERE paused = 0 AND next_fire_at IS NOT NULL').get() as { at: number | null };
    return row.at;
  }

  async recordFire(fire: ScheduleFire, job: NewJob | null, dedupKey?: DedupKey | null): Promise<FireRecorded> {
    return this.db.transaction((): FireRecorded => {
      const taken = this.stmt(
        `INSERT INTO schedule_fires (schedule_id, fire_at, outcome, job_id, recorded_at) VALUES (@scheduleId, @fireAt, @outcome, @jobId, @recordedAt)
         ON CONFLICT (schedule_id, fire_at) DO NOTHING`,
      ).run(fire);
      if (taken.changes === 0) return { recorded: false };
      const heldBy = job && dedupKey ? this.store.takeDedupKey(job, dedupKey) : null;
      if (heldBy) {
        this.stmt(`UPDATE schedule_fires SET outcome = 'skipped', job_id = ? WHERE schedule_id = ? AND fire_at = ?`).run(heldBy.id, fire.scheduleId, fire.fireAt);
      } else if (job) {
        // The job store's own insert: the same rows and events.
        this.store.writeJobs([job]);
        this.stmt(
          `UPDATE schedules SET last_fire_at = @fireAt, last_job_id = @jobId WHERE id = @scheduleId AND (last_fire_at IS NULL OR last_fire_at < @fireAt)`,
        ).run({ scheduleId: fire.scheduleId, fireAt: fire.fireAt, jobId: job.id });
      }
      return { recorded: true, heldBy };
    }).immediate();
  }

  async advanceSchedule(id: string, expected: number | null, next: number | null): Promise<boolean> {
    return this.stmt('UPDATE schedules SET next_fire_at = @next WHERE id = @id AND next_fire_at IS @expected').run({ id, expected, next }).changes === 1;
  }

  async listFires(scheduleId: string, limit: number): Promise<ScheduleFire[]> {
    const rows = this.stmt('SELECT * FROM schedule_fires WHERE schedule_id = ? ORDER BY fire_at DESC LIMIT ?').all(scheduleId, limit) as FireRow[];
    return rows.map(toFire);
  }

  async pruneFires(before: number, limit: number): Promise<number> {
    return this.stmt(
      // A WITHOUT ROWID table: rows are named by their key.
      'DELETE FROM schedule_fires WHERE (schedule_id, fire_at) IN (SELECT schedule_id, fire_at FROM schedule_fires WHERE recorded_at < ? LIMIT ?)',
    ).run(before, limit).changes;
  }

}

function params(s: ScheduleRecord) {
  return { ...s, job: JSON.stringify(s.job), paused: s.paused ? 1 : 0 };
}

function toSchedule(r: ScheduleRow): ScheduleRecord {
  return {
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    job: JSON.parse(r.job) as ScheduleRecord['job'],
    overlap: r.overlap,
    catchUp: r.catch_up,
    catchUpLimit: r.catch_up_limit,
    paused: r.paused === 1,
    startAt: r.start_at,
    endAt: r.end_at,
    nextFireAt: r.next_fire_at,
    lastFireAt: r.last_fire_at,
    lastJobId: r.last_job_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toFire(r: FireRow): ScheduleFire {
  return { scheduleId: r.schedule_id, fireAt: r.fire_at, outcome: r.outcome, jobId: r.job_id, recordedAt: r.recorded_at };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}
