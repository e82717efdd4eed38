import type pg from 'pg';
import type { EventFilter, EventLog, LogEvent, NewLogEvent } from '../../ports/event-log.js';
import { decodeEvent, encodeEvent, type StoredEvent } from './event-rows.js';
import { PG_TYPES } from './rows.js';
import { inTransaction } from './transaction.js';


const POSITION = `UPDATE events e SET pos_start = $1::bigint + b.cum - b.n + 1, pos_end = $1::bigint + b.cum
  FROM (SELECT seq, n, sum(n) OVER (ORDER BY seq) AS cum FROM (SELECT seq, n FROM events WHERE pos_end IS NULL ORDER BY seq LIMIT 1000) u) b
  WHERE e.seq = b.seq AND (b.cum <= $2 OR b.cum = b.n)
  RETURNING e.n`;

/**
 * The PostgreSQL event log (see migrations/0005_events.sql). A row holds the events of one
 * statement; `position` numbers committed rows' events, in seq order, under the row lock of the
 * `positioned` cursor, so positions are gap-free and appear in order to readers.
 */
export class PostgresEventLog implements EventLog {
  constructor(private readonly pool: pg.Pool) {}

  async append(events: readonly NewLogEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.pool.query('INSERT INTO events (n, at, events) VALUES ($1, $2, $3)', [events.length, Math.max(...events.map((e) => e.at)), JSON.stringify(events.map(encodeEvent))]);
  }

  async position(limit: number): Promise<number> {
    // The idle case (the relay asks every 50 ms): one probe of the events_unpositioned index
    // instead of a locking transaction of four statements.
    const pending = await this.pool.query({ name: 'docket_events_pending', text: 'SELECT 1 FROM events WHERE pos_end IS NULL LIMIT 1' });
    if (pending.rows.length === 0) return 0;
    return inTransaction(this.pool, async (client) => {
      // The lock serializes positioners; the next statement's snapshot is taken after it, so it
      // sees every row an earlier positioner numbered.
      const { rows } = await client.query<{ pos: string }>("SELECT pos FROM event_cursors WHERE name = 'positioned' FOR UPDATE");
      const base = Number(rows[0]!.pos);
      const updated = await client.query<{ n: number }>(POSITION, [base, limit]);
      const n = updated.rows.reduce((sum, r) => sum + r.n, 0);
      if (n > 0) await client.query("UPDATE event_cursors SET pos = $1 WHERE name = 'positioned'", [base + n]);
      return n;
    });
  }

  async read(after: number, limit: number, filter: EventFilter = {}): Promise<LogEvent[]> {
    const out: LogEvent[] = [];
    let from = after;
    // Positions are gap-free (but for pruning), so the rows holding (from, from + n] are exactly
    // those overlapping that window: read window by window, not row counts of unknown size.
    while (out.length < limit) {
      const end = Math.min(from + (limit - out.length), filter.upTo ?? Number.MAX_SAFE_INTEGER);
      if (end <= from) break;
      const { rows } = await this.pool.query<{ pos_start: number; pos_end: number; events: string }>({
        name: 'docket_read_events',
        text: 'SELECT pos_start, pos_end, events FROM events WHERE pos_end > $1 AND pos_start <= $2 ORDER BY pos_end',
        values: [from, end],
        types: PG_TYPES,
      });
      if (rows.length === 0) {
        // Pruned before `from`, or the end of the log.
        const next = await this.pool.query<{ pos_start: number }>({ name: 'docket_next_events', text: 'SELECT pos_start FROM events WHERE pos_end > $1 ORDER BY pos_end LIMIT 1', values: [from], types: PG_TYPES });
        const start = next.rows[0]?.pos_start;
        if (start === undefined || start - 1 <= from) break;
        from = start - 1;
        continue;
      }
      for (const row of rows) {
        const events = JSON.parse(row.events) as StoredEvent[];
        for (let i = Math.max(0, from + 1 - row.pos_start); i < events.length && row.pos_start + i <= end; i++) {
          const e = decodeEvent(events[i]!, row.pos_start + i);
          if (filter.tenant !== undefined && e.tenant !== filter.tenant) continue;
          if (filter.topics && !filter.topics.includes(e.topic)) continue;
          out.push(e);
        }
      }
      const reached = Math.min(end, rows[rows.length - 1]!.pos_end);
      if (reached < end) break; // nothing positioned beyond yet
      from = end;
    }
    return out;
  }

  async lastPosition(): Promise<number> {
    return (await this.cursor('positioned')) ?? 0;
  }

  async cursor(name: string): Promise<number | null> {
    const { rows } = await this.pool.query<{ pos: string }>('SELECT pos FROM event_cursors WHERE name = $1', [name]);
    return rows[0] ? Number(rows[0].pos) : null;
  }

  async setCursor(name: string, pos: number): Promise<void> {
    if (name === 'positioned') throw new Error("the positioned cursor is the log's own");
    await this.pool.query('INSERT INTO event_cursors (name, pos) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET pos = excluded.pos', [name, pos]);
  }

  async prune(before: number, upTo: number, limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE pos_end IS NOT NULL AND pos_end <= $2 AND at < $1 ORDER BY pos_end LIMIT $3) RETURNING n',
      [before, upTo, limit],
    );
    return rows.reduce((sum, r) => sum + r.n, 0);
  }
}
