import type Database from 'better-sqlite3';
import { LOG_LEVELS, type NewLogLine } from '../../domain/job-log.js';
import type { JobLogStore, LogPage, LogQuery } from '../../ports/job-log-store.js';
import { rowsToAppend, toLogLine, trimTarget, type LogRow } from '../sql/job-log-rows.js';
import { statementCache } from './statements.js';

const INSERT = 'INSERT INTO job_logs (job_id, attempt, at, level, message, fields, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)';
const GROW = 'INSERT INTO job_log_sizes (job_id, bytes) VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET bytes = bytes + excluded.bytes RETURNING bytes';
/** Drops the oldest lines beyond the newest that fit in `keep` bytes. */
const TRIM = `DELETE FROM job_logs WHERE id IN (
  SELECT id FROM (SELECT id, sum(bytes) OVER (ORDER BY id DESC) AS newer FROM job_logs WHERE job_id = @job) WHERE newer > @keep
) RETURNING bytes`;
const SHRINK = 'UPDATE job_log_sizes SET bytes = bytes - ?, dropped = dropped + ? WHERE job_id = ?';

/** Job logs in the embedded SQLite file (the migration `NNNN_job_logs.sql`), on the job store's connection. */
export class SqliteJobLogStore implements JobLogStore {
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
  }

  async append(lines: readonly NewLogLine[], capBytes: number): Promise<void> {
    if (lines.length === 0) return;
    const { rows, gains } = rowsToAppend(lines);
    this.db.transaction(() => {
      const insert = this.stmt(INSERT);
      for (const { line: l, fields, bytes } of rows) insert.run(l.jobId, l.attempt, l.at, LOG_LEVELS[l.level], l.message, fields, bytes);
      for (const [job, gain] of gains) {
        const { bytes } = this.stmt(GROW).get(job, gain) as { bytes: number };
        if (bytes <= capBytes) continue;
        const gone = this.stmt(TRIM).all({ job, keep: trimTarget(capBytes) }) as { bytes: number }[];
        this.stmt(SHRINK).run(gone.reduce((n, r) => n + r.bytes, 0), gone.length, job);
      }
    }).immediate();
  }

  async read(jobId: string, q: LogQuery): Promise<LogPage> {
    const where = ['job_id = @jobId', 'id > @after', ...(q.attempt !== undefined ? ['attempt = @attempt'] : []), ...(q.minLevel !== undefined ? ['level >= @minLevel'] : [])];
    const params = { jobId, after: q.after, limit: q.limit, ...(q.attempt !== undefined ? { attempt: q.attempt } : {}), ...(q.minLevel !== undefined ? { minLevel: q.minLevel } : {}) };
    const rows = this.stmt(`SELECT id, job_id, attempt, at, level, message, fields FROM job_logs WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`).all(params) as LogRow[];
    const size = this.stmt('SELECT dropped FROM job_log_sizes WHERE job_id = ?').get(jobId) as { dropped: number } | undefined;
    return { lines: rows.map(toLogLine), dropped: size?.dropped ?? 0 };
  }

  async delete(jobIds: readonly string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    return this.db.transaction(() => {
      let n = 0;
      for (const id of new Set(jobIds)) {
        n += this.stmt('DELETE FROM job_logs WHERE job_id = ?').run(id).changes;
        this.stmt('DELETE FROM job_log_sizes WHERE job_id = ?').run(id);
      }
      return n;
    })();
  }
}
