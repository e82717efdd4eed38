import type pg from 'pg';
import { inTransaction } from './transaction.js';
import type { CatchUpPolicy, OverlapPolicy, ScheduleRecord } from '../../domain/schedule.js';
import type { FireRecorded, ScheduleFire, SchedulePage, ScheduleStore, ScheduleWrite } from '../../ports/schedule-store.js';
import type { DedupKey, NewJob } from '../../ports/store.js';
import { takeDedupKey } from './postgres-dedup.js';
import type { PostgresStore } from './postgres-store.js';
import { INSERT_JOBS } from './queries.js';
import { PG_TYPES, insertArrays } from './rows.js';

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
  paused: boolean;
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

const COLUMNS = `id, tenant, name, cron, timezone, job, overlap, catch_up, catch_up_limit, paused, start_at, end_at,
  next_fire_at, last_fire_at, last_job_id, created_at, updated_at`;

const UNIQUE_VIOLATION = '23505';

/**
 * The schedule store of a PostgreSQL deployment: the pool (and so the schema, through the
 * connections' search_path) of its job store.
 */
export class PostgresScheduleStore implements ScheduleStore {
  private readonly pool: pg.Pool;

  constructor(store: PostgresStore) {
    this.pool = store.pool;
  }

  async insertSchedule(s: ScheduleRecord): Promise<ScheduleWrite> {
    try {
      await this.query(
        `INSERT INTO schedules (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
        [s.id, s.tenant, s.name, s.cron, s.timezone, JSON.stringify(s.job), s.overlap, s.catchUp, s.catchUpLimit, s.paused, s.startAt, s.endAt,
          s.nextFireAt, s.lastFireAt, s.lastJobId, s.createdAt, s.updatedAt],
      );
      return 'ok';
    } catch (err) {
      if (isNameTaken(err)) return 'name_taken';
      throw err;
    }
  }

  async getSchedule(id: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.query<ScheduleRow>(`SELECT ${COLUMNS} FROM schedules WHERE id = $1`, [id]);
    return rows[0] && toSchedule(rows[0]);
  }

  async listSchedules(filter: { tenant?: string }, limit: number, after?: string): Promise<SchedulePage> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (filter.tenant !== undefined) where.push(`tenant = $${values.push(filter.tenant)}`);
    if (after !== undefined) where.push(`id > $${values.push(after)}`);
    const sql = `SELECT ${COLUMNS} FROM schedules ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${values.push(limit + 1)}`;
    const { rows } = await this.query<ScheduleRow>(sql, values);
    const schedules = rows.slice(0, limit).map(toSchedule);
    return { schedules, nextCursor: rows.length > limit ? schedules[schedules.length - 1]!.id : null };
  }

  async updateSchedule(s: ScheduleRecord): Promise<ScheduleWrite> {
    try {
      const { rowCount } = await this.query(
        `UPDATE schedules SET name = $2, cron = $3, timezone = $4, job = $5, overlap = $6, catch_up = $7, catch_up_limit = $8,
           paused = $9, start_at = $10, end_at = $11, next_fire_at = $12, updated_at = $13 WHERE id = $1`,
        [s.id, s.name, s.cron, s.timezone, JSON.stringify(s.job), s.overlap, s.catchUp, s.catchUpLimit, s.paused, s.startAt, s.endAt, s.nextFireAt, s.updatedAt],
      );
      return rowCount === 1 ? 'ok' : 'not_found';
    } catch (err) {
      if (isNameTaken(err)) return 'name_taken';
      throw err;
    }
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.inTransaction(async (client) => {
      await client.query({ text: 'DELETE FROM schedule_fires WHERE schedule_id = $1', values: [id], types: PG_TYPES });
      const { rowCount } = await client.query({ text: 'DELETE FROM schedules WHERE id = $1', values: [id], types: PG_TYPES });
      return rowCount === 1;
    });
  }

  async dueSchedules(now: number, limit: number, after?: string): Promise<ScheduleRecord[]> {
    const { rows } = await this.query<ScheduleRow>(
      `SELECT ${COLUMNS} FROM schedules WHERE NOT paused AND next_fire_at IS NOT NULL AND next_fire_at <= $1 AND id > $2 ORDER BY id LIMIT $3`,
      [now, after ?? '', limit],
    );
    return rows.map(toSchedule);
  }

  async earliestFireAt(): Promise<number | null> {
    const { rows } = await this.query<{ at: number | null }>('SELECT min(next_fire_at) AS at FROM schedules WHERE NOT paused AND next_fire_at IS NOT NULL', []);
    return rows[0]?.at ?? null;
  }

  async recordFire(fire: ScheduleFire, job: NewJob | null, dedupKey?: DedupKey | null): Promise<FireRecorded> {
    return this.inTransaction(async (client): Promise<FireRecorded> => {
      // A second node recording the same fire waits here for the first one's commit, then inserts nothing.
      const taken = await client.query({
        text: `INSERT INTO schedule_fires (schedule_id, fire_at, outcome, job_id, recorded_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (schedule_id, fire_at) DO NOTHING`,
        values: [fire.scheduleId, fire.fireAt, fire.outcome, fire.jobId, fire.recordedAt],
        types: PG_TYPES,
      });
      if (taken.rowCount === 0) return { recorded: false };
      const heldBy = job && dedupKey ? await takeDedupKey(client, job, dedupKey) : null;
      if (heldBy) {
        await client.query({
          text: `UPDATE schedule_fires SET outcome = 'skipped', job_id = $3 WHERE schedule_id = $1 AND fire_at = $2`,
          values: [fire.scheduleId, fire.fireAt, heldBy.id],
          types: PG_TYPES,
        });
      } else if (job) {
        // The job store's own insert: the same columns, and its triggers log the job's events.
        await client.query({ text: INSERT_JOBS, values: insertArrays([job]), types: PG_TYPES });
        await client.query({
          text: 'UPDATE schedules SET last_fire_at = $2, last_job_id = $3 WHERE id = $1 AND (last_fire_at IS NULL OR last_fire_at < $2)',
          values: [fire.scheduleId, fire.fireAt, job.id],
          types: PG_TYPES,
        });
      }
      return { recorded: true, heldBy };
    });
  }

  async advanceSchedule(id: string, expected: number | null, next: number | null): Promise<boolean> {
    const { rowCount } = await this.query('UPDATE schedules SET next_fire_at = $3 WHERE id = $1 AND next_fire_at IS NOT DISTINCT FROM $2::bigint', [id, expected, next]);
    return rowCount === 1;
  }

  async listFires(scheduleId: string, limit: number): Promise<ScheduleFire[]> {
    const { rows } = await this.query<FireRow>(
      'SELECT schedule_id, fire_at, outcome, job_id, recorded_at FROM schedule_fires WHERE schedule_id = $1 ORDER BY fire_at DESC LIMIT $2',
      [scheduleId, limit],
    );
    return rows.map((r) => ({ scheduleId: r.schedule_id, fireAt: r.fire_at, outcome: r.outcome, jobId: r.job_id, recordedAt: r.recorded_at }));
  }

  async pruneFires(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.query(
      `DELETE FROM schedule_fires WHERE (schedule_id, fire_at) IN (SELECT schedule_id, fire_at FROM schedule_fires WHERE recorded_at < $1 LIMIT $2)`,
      [before, limit],
    );
    return rowCount ?? 0;
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ text, values, types: PG_TYPES });
  }

  private inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
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
    paused: r.paused,
    startAt: r.start_at,
    endAt: r.end_at,
    nextFireAt: r.next_fire_at,
    lastFireAt: r.last_fire_at,
    lastJobId: r.last_job_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function isNameTaken(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === UNIQUE_VIOLATION && e.constraint === 'schedules_tenant_name';
}
