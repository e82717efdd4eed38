import type Database from 'better-sqlite3';
import { statementCache } from './statements.js';
import type { EventFilter, EventLog, LogEvent, NewLogEvent } from '../../ports/event-log.js';
import { expandBatch, type BatchRow } from './event-batches.js';

interface EventRow {
  pos: number;
  topic: string;
  key: string;
  tenant: string;
  link_id: string | null;
  type: string;
  at: number;
  queue: string | null;
  job_type: string | null;
  state: string | null;
  prev_state: string | null;
  attempt: number | null;
  max_attempts: number | null;
  priority: number | null;
  reason: string | null;
  worker_id: string | null;
  condition: string | null;
  run_at: number | null;
  error: string | null;
  progress: string | null;
  data: string | null;
  n: number | null;
  batch: string | null;
}

/** A row as the port's event: job and dependency events get their `data` from the columns. */
function toEvent(r: EventRow): LogEvent {
  const data: LogEvent['data'] =
    r.data !== null
      ? JSON.parse(r.data)
      : {
          jobId: r.key,
          queue: r.queue,
          jobType: r.job_type,
          state: r.state,
          previousState: r.prev_state,
          attempt: r.attempt,
          maxAttempts: r.max_attempts,
          priority: r.priority,
          reason: r.reason,
          workerId: r.worker_id,
          condition: r.condition,
          runAt: r.run_at,
          error: r.error,
          progress: r.progress === null ? null : JSON.parse(r.progress),
        };
  return { pos: r.pos, topic: r.topic, key: r.key, tenant: r.tenant, linkId: r.link_id, type: r.type, at: r.at, data };
}

/**
 * The SQLite event log (see migrations/0005_events.sql). One writer at a time: a row's rowid is
 * its final position the moment it is written, so `position` has nothing to do.
 */
export class SqliteEventLog implements EventLog {
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
  }

  async append(events: readonly NewLogEvent[]): Promise<void> {
    const insert = this.stmt('INSERT INTO events (topic, key, tenant, link_id, type, at, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const e of events) insert.run(e.topic, e.key, e.tenant, e.linkId ?? null, e.type, e.at, JSON.stringify(e.data));
    })();
  }

  async position(): Promise<number> {
    return 0;
  }

  async read(after: number, limit: number, filter: EventFilter = {}): Promise<LogEvent[]> {
    const where = ['pos > ?'];
    const values: unknown[] = [after];
    if (filter.upTo !== undefined) {
      where.push('pos - coalesce(n, 1) < ?');
      values.push(filter.upTo);
    }
    if (filter.tenant !== undefined) {
      where.push('tenant = ?');
      values.push(filter.tenant);
    }
    if (filter.topics) {
      where.push(`topic IN (${filter.topics.map(() => '?').join(', ') || 'NULL'})`);
      values.push(...filter.topics);
    }
    const rows = this.stmt(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY pos LIMIT ?`).all(...values, limit) as EventRow[];
    // A batch row (event-batches.ts) holds the positions up to its pos: `pos > after` finds one the
    // reader stopped inside, and `pos <= upTo` was asked of its first position.
    const events: LogEvent[] = [];
    for (const r of rows) {
      if (r.batch === null) events.push(toEvent(r));
      else for (const e of expandBatch(this.stmt, r as BatchRow)) if (e.pos > after && (filter.upTo === undefined || e.pos <= filter.upTo)) events.push(e);
      if (events.length >= limit) break;
    }
    return events.slice(0, limit);
  }

  async lastPosition(): Promise<number> {
    const row = this.stmt('SELECT max(pos) AS pos FROM events').get() as { pos: number | null };
    return row.pos ?? 0;
  }

  async cursor(name: string): Promise<number | null> {
    const row = this.stmt('SELECT pos FROM event_cursors WHERE name = ?').get(name) as { pos: number } | undefined;
    return row ? row.pos : null;
  }

  async setCursor(name: string, pos: number): Promise<void> {
    this.stmt('INSERT INTO event_cursors (name, pos) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET pos = excluded.pos').run(name, pos);
  }

  async prune(before: number, upTo: number, limit: number): Promise<number> {
    // Never the newest row: the next position is the largest + 1, so it must stay.
    return this.stmt('DELETE FROM events WHERE pos IN (SELECT pos FROM events WHERE pos <= ? AND at < ? AND pos < (SELECT max(pos) FROM events) ORDER BY pos LIMIT ?)')
      .run(upTo, before, limit).changes;
  }
}
