import type Database from 'better-sqlite3';
import type { LogEvent } from '../../ports/event-log.js';

/**
 * Batch rows of the event log (migrations/0016_hot_path.sql): the hot path's events, one row per
 * batch instead of a trigger row per job. A row of `n` events takes the positions after the last
 * one given out (pos = max + n, the last of them), so each event keeps a position of its own and a
 * reader may stop inside a batch. The row holds what changes from job to job (`batch`); what never
 * changes (queue, type, priority, max attempts, link id) is read from the job when the row is read.
 * Measured by the prototypes: 1.7 us less CPU per submit and 42 bytes less per queued job than a
 * trigger row (docs/design/hot-path-embedded.md).
 */

/** The fields of one job that a batch row keeps, as the batch statements return them. */
export interface LoggedRow {
  id: string;
  tenant: string;
  attempt: number;
  run_at: number;
  worker_id: string | null;
  condition: string | null;
  state_reason: string | null;
}

/**
 * The fields that never change (queue, type, priority, max attempts) when every job of a batch has
 * the same ones and is linked to itself: the batch row keeps them in its own columns (link_id NULL
 * for "each job's own id") and reading it looks nothing up. The submit and the claim have them at
 * hand (sharedOf); without them (completions, whose statement returns only jobs_hot's fields) the
 * reader reads them from the jobs. Measured: docs/design/hot-path-embedded.md#built.
 */
export interface SharedConstants {
  queue: string;
  type: string;
  priority: number;
  maxAttempts: number;
}

/** What `jobs` all share, each linked to itself; null when they differ (or there are none). */
export function sharedOf(jobs: Iterable<{ id: string; queue: string; type: string; priority: number; maxAttempts: number; linkId: string }>): SharedConstants | null {
  let first: SharedConstants | null = null;
  for (const j of jobs) {
    first ??= { queue: j.queue, type: j.type, priority: j.priority, maxAttempts: j.maxAttempts };
    if (j.linkId !== j.id || j.queue !== first.queue || j.type !== first.type || j.priority !== first.priority || j.maxAttempts !== first.maxAttempts) return null;
  }
  return first;
}

/** What the events of a batch share. */
export interface BatchKind {
  topic: string;
  type: string;
  state: string;
  prevState: string | null;
}

/**
 * A job in `batch`: its id alone when every field is the row's (attempt, run_at = at, the row's
 * worker, no condition or reason), else [id, attempt, runAt, workerId, condition, reason].
 */
type Entry = string | [string, number, number, string | null, string | null, string | null];

// Positional parameters, in the order logBatch binds them (named ones cost a lookup each).
const APPEND = `INSERT INTO events (pos, topic, key, tenant, type, at, state, prev_state, attempt, worker_id, n, batch,
    queue, job_type, priority, max_attempts)
  VALUES ((SELECT coalesce(max(pos), 0) FROM events) + ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/**
 * Appends the events of `rows` (one kind, changed at `at`), one row per tenant, inside the
 * caller's transaction. `attempt` and `workerId` are the values most rows have (the ones left out);
 * `shared`: what all of `rows` share (sharedOf), kept in the row.
 */
export function logBatch(
  stmt: (sql: string) => Database.Statement,
  kind: BatchKind,
  rows: readonly LoggedRow[],
  at: number,
  attempt: number,
  workerId: string | null,
  shared: SharedConstants | null = null,
  ranged = false,
): void {
  if (rows.length === 0) return;
  const byTenant = new Map<string, Entry[]>();
  for (const r of rows) {
    const plain = r.attempt === attempt && r.run_at === at && r.worker_id === workerId && r.condition === null && r.state_reason === null;
    const entry: Entry = plain ? r.id : [r.id, r.attempt, r.run_at, r.worker_id, r.condition, r.state_reason];
    const list = byTenant.get(r.tenant);
    if (list) list.push(entry);
    else byTenant.set(r.tenant, [entry]);
  }
  const append = stmt(APPEND);
  for (const [tenant, entries] of byTenant) {
    const range = ranged && shared ? rangeOf(stmt, entries) : null;
    const key = range ? range.first : typeof entries[0] === 'string' ? entries[0] : entries[0]![0];
    append.run(
      entries.length, kind.topic, key, tenant, kind.type, at, kind.state, kind.prevState, attempt, workerId, entries.length,
      range ? JSON.stringify({ last: range.last }) : JSON.stringify(entries),
      shared?.queue ?? null, shared?.type ?? null, shared?.priority ?? null, shared?.maxAttempts ?? null,
    );
  }
}

/**
 * A submit's batch as a range of ids (migrations/0018_event_ranges.sql): when its jobs are plain
 * (no field of their own) and are every job whose id lies between the batch's first and last, the
 * row keeps the last id (its key is the first) instead of the list: ~40 bytes less per queued job.
 * Jobs are inserted with fresh UUIDv7 ids, in order, so a submit's ids are such a range unless
 * another writer's ids fall between them; then the list is kept. A job deleted while a range row
 * covers it first has the row's list written out (materializeRanges), so positions never move.
 */
function rangeOf(stmt: (sql: string) => Database.Statement, entries: readonly Entry[]): { first: string; last: string } | null {
  // One job: its list is the shorter text.
  if (entries.length < 2) return null;
  let first = '';
  let last = '';
  for (const e of entries) {
    if (typeof e !== 'string') return null;
    if (first === '' || e < first) first = e;
    if (e > last) last = e;
  }
  const inRange = stmt('SELECT count(*) FROM job_specs WHERE id BETWEEN ? AND ?').pluck().get(first, last) as number;
  return inRange === entries.length ? { first, last } : null;
}

/**
 * The ids of a range row, in id order: the jobs between its key and its last id, created at its
 * `at` (a job created since can only fall in the range if the clock went back across a restart).
 */
function rangeIds(stmt: (sql: string) => Database.Statement, key: string, batch: string, at: number): string[] {
  const { last } = JSON.parse(batch) as { last: string };
  return stmt('SELECT id FROM job_specs WHERE id BETWEEN ? AND ? AND created_at = ? ORDER BY id').pluck().all(key, last, at) as string[];
}

/** The range rows created at a time that may cover ids up to a last and from a first (parameters in that order); events_ranges serves it. */
export const RANGE_ROWS = "SELECT pos, key, batch FROM events WHERE batch LIKE '{%' AND at = ? AND key <= ? AND batch ->> '$.last' >= ?";

/**
 * Before jobs are deleted: the range rows covering any of `ids` get their list written out, so
 * that their events and positions stay what they were. A range row's jobs were all created at
 * its `at`, so each creation time of the jobs deleted finds its rows through events_ranges.
 */
export function materializeRanges(stmt: (sql: string) => Database.Statement, ids: readonly string[]): void {
  if (ids.length === 0) return;
  const spans = stmt('SELECT created_at AS at, min(id) AS first, max(id) AS last FROM job_specs WHERE id IN (SELECT value FROM json_each(?)) GROUP BY created_at')
    .all(JSON.stringify(ids)) as { at: number; first: string; last: string }[];
  const find = stmt(RANGE_ROWS);
  const rewrite = stmt('UPDATE events SET batch = ? WHERE pos = ?');
  for (const span of spans) {
    for (const r of find.all(span.at, span.last, span.first) as { pos: number; key: string; batch: string }[]) {
      rewrite.run(JSON.stringify(rangeIds(stmt, r.key, r.batch, span.at)), r.pos);
    }
  }
}

/** The columns of a batch row that its expansion reads. */
export interface BatchRow {
  pos: number;
  key: string;
  topic: string;
  tenant: string;
  type: string;
  at: number;
  state: string | null;
  prev_state: string | null;
  attempt: number | null;
  worker_id: string | null;
  n: number;
  batch: string;
  queue: string | null;
  job_type: string | null;
  priority: number | null;
  max_attempts: number | null;
}

interface Constant {
  id: string;
  queue: string;
  type: string;
  priority: number;
  max_attempts: number;
  link_id: string;
}

const CONSTANTS = `SELECT id, queue, type, priority, max_attempts, link_id FROM jobs
  WHERE id IN (SELECT CASE type WHEN 'array' THEN value ->> 0 ELSE value END FROM json_each(?))`;

/**
 * The events of a batch row, positions in order. A job deleted since (retention) has its constant
 * fields null.
 */
export function expandBatch(stmt: (sql: string) => Database.Statement, r: BatchRow): LogEvent[] {
  const entries = r.batch.startsWith('{') ? rangeIds(stmt, r.key, r.batch, r.at) : (JSON.parse(r.batch) as Entry[]);
  // The row's own constants (every job linked to itself), or one lookup for the batch.
  const shared = r.job_type === null ? null : { queue: r.queue, type: r.job_type, priority: r.priority, max_attempts: r.max_attempts };
  const constants = shared ? null : new Map((stmt(CONSTANTS).all(r.batch) as Constant[]).map((c) => [c.id, c]));
  const first = r.pos - r.n + 1;
  return entries.map((e, i): LogEvent => {
    const [id, attempt, runAt, workerId, condition, reason] = typeof e === 'string' ? [e, r.attempt, r.at, r.worker_id, null, null] : e;
    const c = shared ? { ...shared, link_id: id } : constants!.get(id);
    return {
      pos: first + i,
      topic: r.topic,
      key: id,
      tenant: r.tenant,
      linkId: c?.link_id ?? null,
      type: r.type,
      at: r.at,
      data: {
        jobId: id,
        queue: c?.queue ?? null,
        jobType: c?.type ?? null,
        state: r.state,
        previousState: r.prev_state,
        attempt,
        maxAttempts: c?.max_attempts ?? null,
        priority: c?.priority ?? null,
        reason,
        workerId,
        condition,
        runAt,
        error: null,
        progress: null,
      },
    };
  });
}
