import type pg from 'pg';
import { LOG_LEVELS, type NewLogLine } from '../../domain/job-log.js';
import type { JobLogStore, LogPage, LogQuery } from '../../ports/job-log-store.js';
import { rowsToAppend, toLogLine, trimTarget, type LogRow } from '../sql/job-log-rows.js';
import { PG_TYPES } from './rows.js';
import { inTransaction } from './transaction.js';

/** A batch of lines, one statement whatever its size. */
const INSERT = `INSERT INTO job_logs (job_id, attempt, at, level, message, fields, bytes)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::smallint[], $5::text[], $6::text[], $7::int[])`;
/** Each job's size grows by its lines' bytes; rows locked in job id order (the arrays come sorted). */
const GROW = `INSERT INTO job_log_sizes (job_id, bytes) SELECT * FROM unnest($1::text[], $2::bigint[])
  ON CONFLICT (job_id) DO UPDATE SET bytes = job_log_sizes.bytes + excluded.bytes RETURNING job_id, bytes`;
/** Drops the oldest lines beyond the newest that fit in $2 bytes, and counts them on the job's size. */
const TRIM = `WITH gone AS (
  DELETE FROM job_logs WHERE id IN (
    SELECT id FROM (SELECT id, sum(bytes) OVER (ORDER BY id DESC) AS newer FROM job_logs WHERE job_id = $1) t WHERE newer > $2
  ) RETURNING bytes
)
UPDATE job_log_sizes SET bytes = bytes - (SELECT coalesce(sum(bytes), 0) FROM gone), dropped = dropped + (SELECT count(*) FROM gone) WHERE job_id = $1`;

/** Job logs in PostgreSQL (the migration `NNNN_job_logs.sql`), on the job store's pool and schema. */
export class PostgresJobLogStore implements JobLogStore {
  constructor(private readonly pool: pg.Pool) {}

  async append(lines: readonly NewLogLine[], capBytes: number): Promise<void> {
    if (lines.length === 0) return;
    const { rows, gains } = rowsToAppend(lines);
    const columns = [
      rows.map((r) => r.line.jobId),
      rows.map((r) => r.line.attempt),
      rows.map((r) => r.line.at),
      rows.map((r) => LOG_LEVELS[r.line.level]),
      rows.map((r) => r.line.message),
      rows.map((r) => r.fields),
      rows.map((r) => r.bytes),
    ];
    await inTransaction(this.pool, async (client) => {
      await client.query({ name: 'docket_log_insert', text: INSERT, values: columns });
      const grown = await client.query<{ job_id: string; bytes: number }>({ name: 'docket_log_grow', text: GROW, values: [gains.map(([j]) => j), gains.map(([, b]) => b)], types: PG_TYPES });
      for (const { job_id: job } of grown.rows.filter((r) => r.bytes > capBytes).sort((a, b) => (a.job_id < b.job_id ? -1 : 1))) {
        await client.query({ name: 'docket_log_trim', text: TRIM, values: [job, trimTarget(capBytes)] });
      }
    });
  }

  async read(jobId: string, q: LogQuery): Promise<LogPage> {
    const { rows } = await this.pool.query<LogRow>({
      name: 'docket_log_read',
      text: `SELECT id, job_id, attempt, at, level, message, fields FROM job_logs
        WHERE job_id = $1 AND id > $2 AND ($3::int IS NULL OR attempt = $3) AND ($4::int IS NULL OR level >= $4) ORDER BY id LIMIT $5`,
      values: [jobId, q.after, q.attempt ?? null, q.minLevel ?? null, q.limit],
      types: PG_TYPES,
    });
    const size = await this.pool.query<{ dropped: number }>({ name: 'docket_log_dropped', text: 'SELECT dropped FROM job_log_sizes WHERE job_id = $1', values: [jobId], types: PG_TYPES });
    return { lines: rows.map(toLogLine), dropped: size.rows[0]?.dropped ?? 0 };
  }

  async delete(jobIds: readonly string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const ids = [...new Set(jobIds)].sort();
    return inTransaction(this.pool, async (client) => {
      const gone = await client.query('DELETE FROM job_logs WHERE job_id = ANY($1::text[])', [ids]);
      await client.query('DELETE FROM job_log_sizes WHERE job_id = ANY($1::text[])', [ids]);
      return gone.rowCount ?? 0;
    });
  }
}
