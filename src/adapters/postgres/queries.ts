/**
 * The PostgreSQL adapter's fixed statements. Hot ones run as named prepared statements; none uses
 * `*`: a prepared `SELECT *` fails with "cached plan must not change result type" once another
 * server's migration adds a column. Batches travel as arrays and are spread with unnest(), so a
 * batch is one statement whatever its size.
 */

import { CLAIMED_COLUMNS } from '../sql/job-rows.js';
import { CLAIMABLE, COMPLETABLE, EXPIRABLE, TERMINAL, sqlList, sqlState } from '../sql/state-lists.js';

// State lists come from the transition table (sql/state-lists.ts).
const CLAIM_FROM = sqlState(CLAIMABLE, 'CLAIM_JOBS');
const COMPLETE_FROM = sqlState(COMPLETABLE, 'COMPLETE_JOBS');

export const JOB_COLUMNS = `id, tenant, queue, type, payload, priority, labels, state, state_reason, run_at, expires_at,
  timeout_ms, max_attempts, attempt, backoff, link_id, resubmitted_from, lease_token, lease_expires_at, worker_id,
  progress, result, errors, created_at, updated_at, started_at, finished_at, condition, blocked_at, template_id, template_version, trace_context`;

const names = (list: string) => list.split(',').map((c) => c.trim());
/** JOB_COLUMNS qualified with a table alias. */
const jobColumns = (alias: string) => names(JOB_COLUMNS).map((c) => `${alias}.${c}`).join(', ');

/** One array per column, all of the batch's length; json text is checked and stored verbatim. */
export const INSERT_JOBS = `INSERT INTO jobs (id, tenant, queue, type, payload, priority, labels, state, run_at, expires_at,
  timeout_ms, max_attempts, backoff, link_id, resubmitted_from, created_at, updated_at, template_id, template_version, callback_url, trace_context)
  SELECT id, tenant, queue, type, payload::json, priority, labels::jsonb, state, run_at, expires_at,
    timeout_ms, max_attempts, backoff::json, link_id, resubmitted_from, created_at, created_at, template_id, template_version, callback_url, trace_context
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[], $8::text[],
    $9::bigint[], $10::bigint[], $11::bigint[], $12::int[], $13::text[], $14::text[], $15::text[], $16::bigint[],
    $17::text[], $18::int[], $19::text[], $20::text[])
    AS j(id, tenant, queue, type, payload, priority, labels, state, run_at, expires_at,
    timeout_ms, max_attempts, backoff, link_id, resubmitted_from, created_at, template_id, template_version, callback_url, trace_context)`;

export const GET_JOB = `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`;

// Batch updates find their rows by id, through the primary key. Their state checks are written
// `state IS NOT DISTINCT FROM '…'` (the same test: state is NOT NULL) because that form cannot use
// an index: with `state = 'running'`, statistics taken while few jobs ran (say after a bulk submit)
// led the planner to scan every `running` entry of jobs_state — dead ones included, since each
// change of state leaves its old entry until vacuum — for each batch: completions cost 47 µs of
// PostgreSQL CPU per job after 40k claims, 17 µs by primary key.

/**
 * A CTE that makes the statement's own transaction commit without waiting for its WAL flush
 * (`synchronous_commit = off` for that transaction only; the statement must join it in a FROM so
 * it runs). For claims and lease extensions only, whose loss in a PostgreSQL crash is the
 * documented at-least-once redelivery: the job is back to `ready` (or its lease shorter) as of
 * before the claim, the dispatch repair puts it back in the index, and the worker's completion
 * is refused and the job runs again (docs/deployment.md#when-something-fails). Anything committed
 * synchronously afterwards (a completion, the relay positioning the claim's event) flushes the
 * WAL up to it, so a claim that anything depends on is durable. Submits and completions stay
 * synchronous.
 */
const ASYNC_COMMIT = `async AS (SELECT set_config('synchronous_commit', 'off', true) AS setting)`;

const HISTORY_COLUMNS = names(JOB_COLUMNS).filter((c) => !names(CLAIMED_COLUMNS).includes(c));

/**
 * ready -> running with a fresh lease for each (id, token), and ready -> expired for the ones past
 * expiresAt, in one statement, which also logs the `started` events (one event-log row for the
 * batch; the event trigger leaves this change to it: migrations/0005_events.sql). The two updates match disjoint rows (expires_at > now vs <= now):
 * two data-modifying CTEs updating one row would leave it to chance which wins. Claimed rows come back narrow
 * (`expired` false, history columns NULL); expired rows come back whole.
 * $1 ids, $2 tokens, $3 leaseExpiresAt, $4 workerId, $5 now.
 */
const claimJobs = (batch: string) => `WITH c AS (${batch}),
${ASYNC_COMMIT},
claimed AS (
  UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, lease_token = c.token, lease_expires_at = $3,
    worker_id = $4, started_at = $5, updated_at = $5, progress = NULL
  FROM c, async WHERE j.id = c.id AND j.state IS NOT DISTINCT FROM ${CLAIM_FROM} AND (j.expires_at IS NULL OR j.expires_at > $5)
  RETURNING ${names(CLAIMED_COLUMNS).map((c) => `j.${c}`).join(', ')}, j.state_reason
),
logged AS (
  INSERT INTO events (n, at, events)
  SELECT count(*), $5, '[' || string_agg(docket_event_text('j', 'started', $5, id, tenant, link_id, queue, type, 'running', 'ready', attempt,
    max_attempts, priority, state_reason, $4, condition, run_at, NULL, NULL), ',' ORDER BY id) || ']'
  FROM claimed HAVING count(*) > 0
),
expired AS (
  UPDATE jobs j SET state = 'expired', state_reason = 'expired_before_start', finished_at = $5, updated_at = $5
  FROM c WHERE j.id = c.id AND j.state IS NOT DISTINCT FROM ${CLAIM_FROM} AND j.expires_at <= $5
  RETURNING ${jobColumns('j')}
)
SELECT false AS expired, ${CLAIMED_COLUMNS}, ${HISTORY_COLUMNS.map((c) => `NULL AS ${c}`).join(', ')} FROM claimed
UNION ALL
SELECT true, ${CLAIMED_COLUMNS}, ${HISTORY_COLUMNS.join(', ')} FROM expired`;
export const CLAIM_JOBS = claimJobs('SELECT * FROM unnest($1::text[], $2::text[]) AS c(id, token)');
/** CLAIM_JOBS for a batch of one (see SINGLE below). */
export const CLAIM_ONE = claimJobs('SELECT ($1::text[])[1] AS id, ($2::text[])[1] AS token');

/**
 * running -> succeeded for each (id, token, result), logging the `succeeded` events in the same
 * statement (as CLAIM_JOBS does `started`). Returns only the completions that did not
 * apply, with the job's state and whether the token matched as of the statement's snapshot (the
 * update itself re-checks a row changed concurrently, so "token matched but not applied" means a
 * concurrent write won). Also returns (as `settled`) the completed jobs that have dependents: the
 * dependency trigger (migrations/0009) resolved those, and the caller reads back what it released;
 * has_dependents comes from the row as updated, so a dependent submitted concurrently is not missed.
 * $1 ids, $2 tokens, $3 results (json text or NULL), $4 now.
 */
const completeJobs = (batch: string) => `WITH c AS (${batch}),
done AS (
  UPDATE jobs j SET state = 'succeeded', result = c.result::json, lease_expires_at = NULL, finished_at = $4, updated_at = $4
  FROM c WHERE j.id = c.id AND j.state IS NOT DISTINCT FROM ${COMPLETE_FROM} AND j.lease_token = c.token
  RETURNING c.n, j.id, j.has_dependents, j.tenant, j.link_id, j.queue, j.type, j.attempt, j.max_attempts, j.priority, j.state_reason,
    j.worker_id, j.condition, j.run_at
),
logged AS (
  INSERT INTO events (n, at, events)
  SELECT count(*), $4, '[' || string_agg(docket_event_text('j', 'succeeded', $4, id, tenant, link_id, queue, type, 'succeeded', 'running',
    attempt, max_attempts, priority, state_reason, worker_id, condition, run_at, NULL, NULL), ',' ORDER BY id) || ']'
  FROM done HAVING count(*) > 0
)
SELECT c.n, j.state, j.lease_token IS NOT DISTINCT FROM c.token AS token_matched, NULL::text AS settled
FROM c LEFT JOIN jobs j ON j.id = c.id
WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.n = c.n)
UNION ALL
SELECT done.n, NULL, NULL, done.id FROM done WHERE done.has_dependents`;
export const COMPLETE_JOBS = completeJobs('SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS c(id, token, result, n)');
/** COMPLETE_JOBS for a batch of one (see SINGLE below). */
export const COMPLETE_ONE = completeJobs('SELECT ($1::text[])[1] AS id, ($2::text[])[1] AS token, ($3::text[])[1] AS result, 1::bigint AS n');

/**
 * SINGLE: why a claim or a completion of one job has a statement of its own. PostgreSQL plans a
 * prepared statement anew for every call (a custom plan) as long as that looks cheaper than its
 * cached generic plan. A custom plan estimates `unnest` of a bound array at the array's length,
 * and the generic plan at 10 rows, so batches of one or a few jobs are planned at every call:
 * ~0.5 ms of the server's CPU and of the call's latency for these statements. An idle worker
 * claims and completes one job at a time. The batch of one, read from the arrays' first
 * elements, is one row in either plan, so PostgreSQL keeps the generic plan (primary-key probes)
 * after its first five calls. Like every cached plan, and the batch form's too, it is made from the
 * table's statistics of the moment: docs/deployment.md (Sizing) says why autovacuum stays on. Measured alone, one job at a time on this machine's PostgreSQL: claim
 * 1.50 → 0.77 ms, completion 1.46 → 0.85 ms. The parameters are the same as the batch form's.
 */

/**
 * A lease that already ran out cannot be extended: the reaper may be giving the job away, and a
 * late heartbeat must not win against it. Returns the ids extended. $1 ids, $2 tokens, $3 deadline, $4 now.
 */
export const EXTEND_LEASES = `WITH ${ASYNC_COMMIT}
UPDATE jobs j SET lease_expires_at = $3
  FROM unnest($1::text[], $2::text[]) AS l(id, token), async
  WHERE j.id = l.id AND j.state IS NOT DISTINCT FROM 'running' AND j.lease_token = l.token AND j.lease_expires_at >= $4
  RETURNING j.id`;

/** Locks the jobs a transition batch touches, in id order so that concurrent batches cannot deadlock. */
export const LOCK_JOBS = `SELECT id, state, lease_token FROM jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;

/**
 * One round of a transition batch (at most one move per job): every patch field comes with a flag
 * saying whether it is set, so one statement serves any mix of patches. `error` is appended to
 * the history. Arrays, in order: id, to, now, and for each of PATCH_FIELDS its flag and value.
 */
export const PATCH_FIELDS = [
  ['stateReason', 'state_reason', 'text'],
  ['runAt', 'run_at', 'bigint'],
  ['attempt', 'attempt', 'int'],
  ['leaseToken', 'lease_token', 'text'],
  ['leaseExpiresAt', 'lease_expires_at', 'bigint'],
  ['workerId', 'worker_id', 'text'],
  ['result', 'result', 'json'],
  ['error', 'errors', 'jsonb'],
  ['progress', 'progress', 'json'],
  ['condition', 'condition', 'text'],
  ['blockedAt', 'blocked_at', 'bigint'],
  ['startedAt', 'started_at', 'bigint'],
  ['finishedAt', 'finished_at', 'bigint'],
] as const;

export const APPLY_TRANSITIONS = (() => {
  const sets = PATCH_FIELDS.map(([, column, type], i) => {
    const value = `$${5 + 2 * i}::${type === 'json' || type === 'jsonb' ? 'text' : type}[]`;
    return { flag: `$${4 + 2 * i}::bool[]`, value, column, type, name: `v${i}` };
  });
  const assign = sets.map(({ column, type, name }, i) => {
    const v = type === 'json' ? `r.${name}::json` : `r.${name}`;
    const next = column === 'errors' ? `j.errors || jsonb_build_array(r.${name}::jsonb)` : v;
    return `${column} = CASE WHEN r.f${i} THEN ${next} ELSE j.${column} END`;
  });
  return `UPDATE jobs j SET state = r.to_state, updated_at = r.now, ${assign.join(',\n  ')}
  FROM unnest($1::text[], $2::text[], $3::bigint[], ${sets.map((s) => `${s.flag}, ${s.value}`).join(', ')})
    AS r(id, to_state, now, ${sets.map((s, i) => `f${i}, ${s.name}`).join(', ')})
  WHERE j.id = r.id
  RETURNING ${jobColumns('j')}`;
})();

export const FIND_EXPIRED_LEASES = `SELECT ${JOB_COLUMNS} FROM jobs WHERE state = 'running' AND lease_expires_at < $1
  ORDER BY lease_expires_at LIMIT $2`;

export const FIND_EXPIRED = `SELECT ${JOB_COLUMNS} FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= $1
  AND state IN (${sqlList(EXPIRABLE)}) ORDER BY expires_at LIMIT $2`;

/**
 * One page of the dispatchable jobs of one state, keyset-paginated on the (state, queue, id)
 * index: each page is an index range scan, however many finished jobs the table holds.
 * $1 state, $2 queue, $3 id (after the last row of the previous page), $4 page size.
 */
export const LOAD_DISPATCHABLE_PAGE = `SELECT id, queue, tenant, priority, run_at, type, labels FROM jobs
  WHERE state = $1 AND (queue, id) > ($2, $3) ORDER BY queue, id LIMIT $4`;

export const STATE_OF = 'SELECT state, lease_token FROM jobs WHERE id = $1';

/** Takes an idempotency key; returns no row when (tenant, key) was already taken. */
export const INSERT_IDEMPOTENCY = `INSERT INTO idempotency_keys (tenant, key, request_hash, status, response, created_at)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, key) DO NOTHING RETURNING 1`;

export const GET_IDEMPOTENCY = `SELECT tenant, key, request_hash AS "requestHash", status, response, created_at AS "createdAt"
  FROM idempotency_keys WHERE tenant = $1 AND key = $2`;

export const PRUNE_IDEMPOTENCY = 'DELETE FROM idempotency_keys WHERE created_at < $1';

export const SET_QUEUE_PAUSED = `INSERT INTO queues (name, paused, updated_at) VALUES ($1, $2, $3)
  ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at`;

export const PAUSED_QUEUES = 'SELECT name FROM queues WHERE paused ORDER BY name';

// Queue activity (the dashboard's charts). The state and queue arrays lead the jobs_finished index
// (state, queue, finished_at): one index range per (state, queue) pair holding only the window's
// rows, so a long history of finished jobs costs nothing. No tenant index: a tenant's rows are
// picked among those. $1 since, $2 slot length (ms), $3 queues, $4 tenant or null.
export const QUEUE_FINISHED = `SELECT queue, state, (finished_at - $1::bigint) / $2::bigint AS slot, count(*) AS count FROM jobs
  WHERE state = ANY('{${TERMINAL.join(',')}}'::text[]) AND queue = ANY($3::text[])
    AND finished_at >= $1::bigint AND ($4::text IS NULL OR tenant = $4::text)
  GROUP BY queue, state, slot`;

// The ready jobs of each queue (jobs_state: state, queue), their earliest due time. $1 queues, $2 tenant or null.
export const QUEUE_OLDEST_READY = `SELECT queue, min(run_at) AS "runAt" FROM jobs
  WHERE state = 'ready' AND queue = ANY($1::text[]) AND ($2::text IS NULL OR tenant = $2::text)
  GROUP BY queue`;

// ---- recovery conditions and dead letters ----

const CONDITION_COLUMNS = `key, status, first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt", last_error AS "lastError",
  failures, probe_job_id AS "probeJobId", next_probe_at AS "nextProbeAt", probe_failures AS "probeFailures",
  releasing_since AS "releasingSince", released, updated_at AS "updatedAt"`;

/**
 * A failure under a condition: creates it (open) or counts one more, atomically (ON CONFLICT: a
 * concurrent first report of the same key waits and counts instead of failing). Leaves status,
 * the probe and release fields, and updatedAt (the version saveCondition checks) to the leader.
 * lastSeenAt never goes back (reporters' clocks differ); lastError is the latest report's.
 * $1 key, $2 error, $3 now, $4 nextProbeAt.
 */
export const RECORD_CONDITION_FAILURE = `INSERT INTO conditions AS c (key, status, first_seen_at, last_seen_at, last_error, failures,
  probe_job_id, next_probe_at, probe_failures, releasing_since, released, updated_at)
  VALUES ($1, 'open', $3, $3, $2, 1, NULL, $4, 0, NULL, 0, $3)
  ON CONFLICT (key) DO UPDATE SET last_seen_at = GREATEST(c.last_seen_at, excluded.last_seen_at),
    last_error = excluded.last_error, failures = c.failures + 1
  RETURNING ${CONDITION_COLUMNS}`;

export const GET_CONDITION = `SELECT ${CONDITION_COLUMNS} FROM conditions WHERE key = $1`;

export const LIST_CONDITIONS = `SELECT ${CONDITION_COLUMNS} FROM conditions ORDER BY key`;

/** Optimistic: applies only while updated_at is still the one the caller read. $1..$12 the record, $13 expected. */
/** The failure fields (last_seen_at, last_error, failures) are recordConditionFailure's alone: a save never overwrites a failure recorded since the read. */
export const SAVE_CONDITION = `UPDATE conditions SET status = $2, first_seen_at = $3, probe_job_id = $4, next_probe_at = $5,
  probe_failures = $6, releasing_since = $7, released = $8, updated_at = $9
  WHERE key = $1 AND updated_at = $10`;

export const DELETE_CONDITION = 'DELETE FROM conditions WHERE key = $1';

/** On the jobs_parked index (state = 'blocked' is its predicate, spelled the same). */
export const PARKED_COUNTS = `SELECT condition, queue, tenant, count(*) AS count FROM jobs
  WHERE state = 'blocked' AND condition IS NOT NULL
  GROUP BY condition, queue, tenant ORDER BY condition, queue, tenant COLLATE "C"`;

export const PARKED_SCOPES = `SELECT DISTINCT condition, queue, type FROM jobs WHERE state = 'blocked' AND condition IS NOT NULL`;

/** Release order, read in order from the jobs_parked index. $1 condition, $2 limit. */
export const LIST_PARKED = `SELECT ${JOB_COLUMNS} FROM jobs WHERE state = 'blocked' AND condition = $1
  ORDER BY priority, run_at, id LIMIT $2`;

export const DELETE_JOBS = 'DELETE FROM jobs WHERE id = ANY($1::text[])';

/**
 * The newest prunable job of a queue and state: the (keep + 1)-th newest ($4 keep, NULL for no
 * count rule) or the newest finished before $3 (NULL for no age rule), whichever is newer. Every
 * job at or before it in (finished_at, id) order is prunable: both rules select a prefix of that
 * order, so their union is the longer prefix, read oldest first on the jobs_finished index and
 * stopped at the limit (an OR of the two rules would scan every finished job of the queue to find
 * fewer than `limit`). The bound comes from scalar subqueries (init plans), so the final scan
 * keeps the index order. $1 queue, $2 state, $5 limit.
 */
export const FIND_PRUNABLE = `WITH b AS (
  SELECT f, id FROM (
    (SELECT finished_at AS f, id FROM jobs WHERE state = $2 AND queue = $1 AND finished_at IS NOT NULL AND $4::int IS NOT NULL
      ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET GREATEST($4::int, 0))
    UNION ALL
    (SELECT finished_at, id FROM jobs WHERE state = $2 AND queue = $1 AND finished_at < $3::bigint
      ORDER BY finished_at DESC, id DESC LIMIT 1)
  ) x ORDER BY f DESC, id DESC LIMIT 1
)
SELECT id FROM jobs WHERE state = $2 AND queue = $1 AND finished_at IS NOT NULL
  AND (finished_at, id) <= ((SELECT f FROM b), (SELECT id FROM b))
ORDER BY finished_at, id LIMIT $5`;

export const COUNT_RUNNING = `SELECT queue, tenant, count(*)::int AS running FROM jobs WHERE state = 'running' GROUP BY queue, tenant`;
export const RUNNING_BY_WORKER = `SELECT worker_id AS "workerId", count(*)::int AS running FROM jobs WHERE state = 'running' AND worker_id IS NOT NULL GROUP BY worker_id`;
