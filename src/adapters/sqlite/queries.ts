/** The SQLite adapter's fixed statements, by operation. Variable ones are built in sqlite-store.ts. */

import { CLAIMABLE, COMPLETABLE, DISPATCHABLE, EXPIRABLE, TERMINAL, sqlAnyOf, sqlList, sqlState } from '../sql/state-lists.js';

// State lists come from the transition table (sql/state-lists.ts).
const CLAIM_FROM = sqlState(CLAIMABLE, 'CLAIM_JOB');

// The insert writes both halves of the job (migrations/0016_hot_path.sql), jobs_hot first (the
// callback trigger of job_specs reads the tenant from it); its events are logged per batch.
// Positional parameters, bound by rows.ts insertJobRow in this order: better-sqlite3 binds named
// ones by looking each name up in the object, ~1 us more per row of 14 (measured).
export const INSERT_HOT = `INSERT INTO jobs_hot (id, tenant, queue, priority, state, run_at, expires_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

export const INSERT_SPEC = `INSERT INTO job_specs (id, type, payload, labels, timeout_ms, max_attempts, backoff, link_id, resubmitted_from,
  created_at, template_id, template_version, callback_url, trace_context)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export const GET_JOB = 'SELECT * FROM jobs WHERE id = ?';

/** The fields of a batch's jobs that a batch event row keeps per job (event-batches.ts). */
const LOGGED = 'id, tenant, attempt, run_at, worker_id, condition, state_reason';

/**
 * ready -> running with a fresh lease, unless the job expired while it waited: one statement for
 * the batch. @leases is a JSON object, job id -> its lease token. The claimed jobs are read back
 * in the wire form (claim-wire.ts). Joined on json_each (SQLite looks each id up by primary key):
 * reading each token by a JSON path instead cost ~5 us more per job, measured.
 */
export const CLAIM_JOBS = `UPDATE jobs_hot SET state = 'running', attempt = attempt + 1, lease_token = c.value,
  lease_expires_at = @leaseExpiresAt, worker_id = @workerId, started_at = @now, updated_at = @now, progress = NULL
  FROM json_each(@leases) AS c
  WHERE jobs_hot.id = c.key AND state = ${CLAIM_FROM} AND (expires_at IS NULL OR expires_at > @now)`;

export const EXPIRE_READY_JOB = `UPDATE jobs_hot SET state = 'expired', state_reason = 'expired_before_start',
  finished_at = @now, updated_at = @now
  WHERE id = @id AND state = ${CLAIM_FROM} AND expires_at IS NOT NULL AND expires_at <= @now RETURNING id`;

/**
 * running -> succeeded for a batch, each guarded by its lease token. @done is a JSON object, job id
 * -> [lease token] or [lease token, result].
 */
export const COMPLETE_JOBS = `UPDATE jobs_hot SET state = 'succeeded', result = c.value -> 1, lease_expires_at = NULL,
  finished_at = @now, updated_at = @now
  FROM json_each(@done) AS c
  WHERE jobs_hot.id = c.key AND state = ${sqlState(COMPLETABLE, 'COMPLETE_JOB')} AND lease_token = c.value ->> 0
  RETURNING ${LOGGED}`;

/**
 * A lease that already ran out cannot be extended: the reaper may be giving the job away, and a
 * late heartbeat must not win against it (the worker is told the job is lost and aborts it).
 */
export const EXTEND_LEASE = `UPDATE jobs_hot SET lease_expires_at = @leaseExpiresAt
  WHERE id = @id AND state = 'running' AND lease_token = @leaseToken AND lease_expires_at >= @now`;

export const FIND_EXPIRED_LEASES = `SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < ?
  ORDER BY lease_expires_at LIMIT ?`;

// The WHERE of jobs_expiry (migrations/0015_expiry_index.sql) as written there, so SQLite uses it.
export const FIND_EXPIRED = `SELECT * FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ?
  AND ${sqlAnyOf('state', EXPIRABLE)} ORDER BY expires_at LIMIT ?`;

export const LOAD_DISPATCHABLE = `SELECT id, queue, tenant, priority, run_at, type, labels, state FROM jobs
  WHERE state IN (${sqlList(DISPATCHABLE)})`;

// The dispatch window (memory-dispatch.ts with a ReadyBacklog): the next page of one bucket of the
// ready order, read along jobs_hot_ready from the bucket's fence; the tenant and type are checked
// per row (a bucket only pages when it holds more than the window, so its jobs are dense there).
// The page is one JSON text of [id, run_at, labels or null]: 1.2 us per job against 2.6 for a row
// object each (100,000 queued, pages of 1,000), and the bucket knows the rest of each entry.
export const READY_AFTER = `SELECT json_group_array(json_array(id, run_at, json(labels)) ORDER BY run_at, id) AS page FROM (
  SELECT h.id, h.run_at, nullif(s.labels, '{}') AS labels
  FROM jobs_hot h JOIN job_specs s ON s.id = h.id
  WHERE h.state = 'ready' AND h.queue = @queue AND h.priority = @priority AND (h.run_at, h.id) > (@dueAt, @id)
    AND h.tenant = @tenant AND s.type = @type
  ORDER BY h.run_at, h.id LIMIT @limit)`;

export const READY_OF = `SELECT h.id, h.queue, h.tenant, h.priority, h.run_at, s.type, s.labels
  FROM jobs_hot h JOIN job_specs s ON s.id = h.id
  WHERE h.id IN (SELECT value FROM json_each(?)) AND h.state = 'ready'`;

export const COUNT_READY = `SELECT count(*) AS n FROM jobs_hot WHERE queue = ? AND state = 'ready'`;

export const STATE_OF = 'SELECT state, lease_token FROM jobs_hot WHERE id = ?';

export const INSERT_IDEMPOTENCY = `INSERT INTO idempotency_keys (tenant, key, request_hash, status, response, created_at)
  VALUES (@tenant, @key, @requestHash, @status, @response, @createdAt) ON CONFLICT (tenant, key) DO NOTHING`;

export const GET_IDEMPOTENCY = `SELECT tenant, key, request_hash AS requestHash, status, response, created_at AS createdAt
  FROM idempotency_keys WHERE tenant = ? AND key = ?`;

export const PRUNE_IDEMPOTENCY = 'DELETE FROM idempotency_keys WHERE created_at < ?';

export const SET_QUEUE_PAUSED = `INSERT INTO queues (name, paused, updated_at) VALUES (@queue, @paused, @now)
  ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at`;

export const PAUSED_QUEUES = 'SELECT name FROM queues WHERE paused = 1 ORDER BY name';

// Queue activity (the dashboard's charts). The state and queue lists lead the jobs_hot_finished index
// (state, queue, finished_at): one index range per (state, queue) pair holding only the window's
// rows, so a long history of finished jobs costs nothing. No tenant index: a tenant's rows are
// picked among those.
// better-sqlite3 binds JS numbers as REAL, so the division is a real one: CAST truncates it.
export const QUEUE_FINISHED = `SELECT queue, state, CAST((finished_at - @since) / @bucketMs AS INTEGER) AS slot, count(*) AS count FROM jobs_hot
  WHERE state IN (${sqlList(TERMINAL)}) AND queue IN (SELECT value FROM json_each(@queues))
    AND finished_at >= @since AND (@tenant IS NULL OR tenant = @tenant)
  GROUP BY queue, state, slot`;

// The ready jobs of each queue (jobs_hot_ready: queue, priority, run_at), their earliest due time.
export const QUEUE_OLDEST_READY = `SELECT queue, min(run_at) AS runAt FROM jobs_hot
  WHERE state = 'ready' AND queue IN (SELECT value FROM json_each(@queues)) AND (@tenant IS NULL OR tenant = @tenant)
  GROUP BY queue`;

// ---- recovery conditions and dead letters ----

const CONDITION_COLUMNS = `key, status, first_seen_at AS firstSeenAt, last_seen_at AS lastSeenAt, last_error AS lastError,
  failures, probe_job_id AS probeJobId, next_probe_at AS nextProbeAt, probe_failures AS probeFailures,
  releasing_since AS releasingSince, released, updated_at AS updatedAt`;

/**
 * A failure under a condition: creates it (open) or counts one more. Leaves status, the probe and
 * release fields, and updatedAt (the version saveCondition checks) to the leader. lastSeenAt never
 * goes back (reporters' clocks differ); lastError is the latest report's.
 */
export const RECORD_CONDITION_FAILURE = `INSERT INTO conditions (key, status, first_seen_at, last_seen_at, last_error, failures,
  probe_job_id, next_probe_at, probe_failures, releasing_since, released, updated_at)
  VALUES (@key, 'open', @now, @now, @error, 1, NULL, @nextProbeAt, 0, NULL, 0, @now)
  ON CONFLICT (key) DO UPDATE SET last_seen_at = max(last_seen_at, excluded.last_seen_at),
    last_error = excluded.last_error, failures = failures + 1
  RETURNING ${CONDITION_COLUMNS}`;

export const GET_CONDITION = `SELECT ${CONDITION_COLUMNS} FROM conditions WHERE key = ?`;

export const LIST_CONDITIONS = `SELECT ${CONDITION_COLUMNS} FROM conditions ORDER BY key`;

/** Optimistic: applies only while updated_at is still the one the caller read. */
/** The failure fields (last_seen_at, last_error, failures) are recordConditionFailure's alone: a save never overwrites a failure recorded since the read. */
export const SAVE_CONDITION = `UPDATE conditions SET status = @status, first_seen_at = @firstSeenAt,
  probe_job_id = @probeJobId, next_probe_at = @nextProbeAt,
  probe_failures = @probeFailures, releasing_since = @releasingSince, released = @released, updated_at = @updatedAt
  WHERE key = @key AND updated_at = @expectedUpdatedAt`;

export const DELETE_CONDITION = 'DELETE FROM conditions WHERE key = ?';

/** Counted on the jobs_hot_parked index (state = 'blocked' is its WHERE, spelled the same). */
export const PARKED_COUNTS = `SELECT condition, queue, tenant, count(*) AS count FROM jobs_hot
  WHERE state = 'blocked' AND condition IS NOT NULL
  GROUP BY condition, queue, tenant ORDER BY condition, queue, tenant`;

export const PARKED_SCOPES = `SELECT DISTINCT condition, queue, type FROM jobs WHERE state = 'blocked' AND condition IS NOT NULL`;

/** Release order, read in order from the jobs_hot_parked index. */
export const LIST_PARKED = `SELECT * FROM jobs WHERE state = 'blocked' AND condition = ?
  ORDER BY priority, run_at, id LIMIT ?`;

/** The job_specs row and the job's edges go with it (trigger jobs_hot_delete). */
export const DELETE_JOB = 'DELETE FROM jobs_hot WHERE id = ?';

/**
 * The newest prunable job of a queue and state: the (keep + 1)-th newest (`keep` given) or the
 * newest finished before the cutoff (`before` given), whichever is newer. Every job at or before
 * it in (finished_at, id) order is prunable: both rules select a prefix of that order, so their
 * union is the longer prefix, read oldest first on the jobs_hot_finished index and stopped at the
 * limit (an OR of the two rules would scan every finished job of the queue to find fewer than
 * `limit`). Built for the rules given: `by` lists them.
 */
export function findPrunable(by: { keep: boolean; before: boolean }): string {
  const scope = `state = @state AND queue = @queue AND finished_at IS NOT NULL`;
  const bounds = [
    by.keep ? `SELECT finished_at AS f, id FROM jobs_hot WHERE ${scope} ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET @keep` : null,
    by.before ? `SELECT finished_at AS f, id FROM jobs_hot WHERE ${scope} AND finished_at < @before ORDER BY finished_at DESC, id DESC LIMIT 1` : null,
  ].filter((s): s is string => s !== null);
  return `WITH b AS (SELECT f, id FROM (${bounds.map((s) => `SELECT * FROM (${s})`).join(' UNION ALL ')}) ORDER BY f DESC, id DESC LIMIT 1)
  SELECT id FROM jobs_hot WHERE ${scope} AND finished_at <= (SELECT f FROM b)
    AND (finished_at < (SELECT f FROM b) OR id <= (SELECT id FROM b))
  ORDER BY finished_at, id LIMIT @limit`;
}

export const COUNT_RUNNING = `SELECT queue, tenant, count(*) AS running FROM jobs_hot WHERE state = 'running' GROUP BY queue, tenant`;
export const RUNNING_BY_WORKER = `SELECT worker_id AS workerId, count(*) AS running FROM jobs_hot WHERE state = 'running' AND worker_id IS NOT NULL GROUP BY worker_id`;
