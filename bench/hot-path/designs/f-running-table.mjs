// F (C + E without updates): a ready job is its spec alone; a claim inserts a row into job_running
// (the lease: token, attempt, worker, deadline), a completion deletes it and appends the job_done
// row. No row is ever updated on the hot path, so there is no HOT to arrange and no dead version
// left in a table that holds queued jobs: job_running only ever holds what runs. The claim is
// fenced by job_running's primary key (a second claim of a running job conflicts) and by
// job_done's (a finished job is not claimed again); the cold states (scheduled, waiting,
// retrying, blocked) would keep a job_states row, which the hot path never touches. Events are
// compact (E).
import { SPECS, DONE, EVENTS_COMPACT, EVENTS_MIXED, specArrays, SPEC_UNNEST, SPEC_INSERT } from './schema.mjs';

const RUNNING = `
CREATE TABLE job_running (
  id               uuid PRIMARY KEY,
  lease_expires_at bigint NOT NULL,
  started_at       bigint NOT NULL,
  lease_token      uuid NOT NULL,
  attempt          smallint NOT NULL,
  worker_id        text NOT NULL
);
`;
// The lease reaper's scan: few rows (what runs). F2 leaves it out (the reaper reads the table).
const RUNNING_EXPIRY = `CREATE INDEX job_running_expiry ON job_running (lease_expires_at);`;

const INSERT = `WITH j AS (SELECT * FROM ${SPEC_UNNEST}),
s AS (${SPEC_INSERT}),
logged AS (INSERT INTO events (at, type, ids) SELECT max(created_at), 'submitted', array_agg(id ORDER BY id) FROM j HAVING count(*) > 0)
SELECT count(*) FROM j`;

const eventText = (type, at, state, prev, attempt, worker) =>
  `docket_event_text('j', '${type}', ${at}, sp.id::text, sp.tenant, coalesce(sp.link_id, sp.id)::text, sp.queue, sp.type, '${state}', '${prev}',
    ${attempt}, sp.max_attempts, sp.priority, NULL, ${worker}, NULL, sp.run_at, NULL, NULL)`;
const TEXT_STARTED = `INSERT INTO events (n, at, events) SELECT count(*), $5, '[' || string_agg(${eventText('started', '$5', 'running', 'ready', 'sp.claimed_attempt', '$4')}, ',' ORDER BY sp.id) || ']'
  FROM rows sp HAVING count(*) > 0`;
// The attempt before this one comes with the id (the dispatch entry carries it: 0 for a new job,
// job_states' for a retry).
const claimSql = (text, plainInsert) => `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)),
async AS (SELECT set_config('synchronous_commit', 'off', true) AS setting),
claimed AS (
  INSERT INTO job_running (id, lease_expires_at, started_at, lease_token, attempt, worker_id)
  SELECT c.id, $3, $5, c.token, 1, $4 FROM c CROSS JOIN async
  -- A lateral probe with LIMIT, not NOT EXISTS: planned while job_done was small, NOT EXISTS
  -- became a hash anti-join that read all of job_done for every claim (45 µs per job, growing).
  LEFT JOIN LATERAL (SELECT true AS found FROM job_done f WHERE f.id = c.id LIMIT 1) d ON true
  WHERE d.found IS NULL
  ${plainInsert ? '' : 'ON CONFLICT (id) DO NOTHING'}
  RETURNING id, attempt
),
rows AS (SELECT sp.*, cl.attempt AS claimed_attempt FROM claimed cl JOIN job_specs sp ON sp.id = cl.id),
logged AS (${text ? TEXT_STARTED : `INSERT INTO events (at, type, worker_id, ids, attempts) SELECT $5, 'started', $4, array_agg(id ORDER BY id), array_agg(attempt ORDER BY id) FROM claimed HAVING count(*) > 0`})
SELECT sp.id, sp.tenant, sp.queue, sp.type, sp.payload, sp.priority, sp.labels, sp.run_at, sp.expires_at, sp.timeout_ms,
  sp.max_attempts, sp.claimed_attempt AS attempt, sp.backoff, sp.link_id, sp.resubmitted_from, sp.created_at, sp.template_id, sp.template_version
FROM rows sp`;

const completeSql = (text) => `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS c(id, token, result, n)),
done AS (DELETE FROM job_running r USING c WHERE r.id = ANY($1::uuid[]) AND r.id = c.id AND r.lease_token = c.token
  RETURNING c.n, r.id, r.attempt, r.worker_id, r.started_at, c.result),
moved AS (INSERT INTO job_done (id, finished_at, started_at, attempt, state, worker_id, result)
  SELECT id, $4, started_at, attempt, 'succeeded', worker_id, result::json FROM done RETURNING id),
logged AS (${text
  ? `INSERT INTO events (n, at, events) SELECT count(*), $4, '[' || string_agg(${eventText('succeeded', '$4', 'succeeded', 'running', 'd.attempt', 'd.worker_id')}, ',' ORDER BY d.id) || ']'
    FROM done d JOIN job_specs sp ON sp.id = d.id HAVING count(*) > 0`
  : `INSERT INTO events (at, type, ids, attempts) SELECT $4, 'succeeded', array_agg(id ORDER BY id), array_agg(attempt ORDER BY id) FROM done HAVING count(*) > 0`})
SELECT c.n, CASE WHEN r.id IS NOT NULL THEN 'running' ELSE (SELECT f.state FROM job_done f WHERE f.id = c.id) END AS state,
  r.lease_token IS NOT DISTINCT FROM c.token AS token_matched, NULL::text AS settled
FROM c LEFT JOIN job_running r ON r.id = c.id
WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.n = c.n)
UNION ALL
SELECT done.n, NULL, NULL, sp.id::text FROM done JOIN job_specs sp ON sp.id = done.id WHERE sp.has_dependents`;

const READ = `SELECT CASE WHEN r.id IS NOT NULL THEN 'running' ELSE coalesce(f.state, 'ready') END AS state,
  coalesce(r.attempt, f.attempt, 0) AS attempt, sp.payload
  FROM job_specs sp LEFT JOIN job_running r ON r.id = sp.id LEFT JOIN job_done f ON f.id = sp.id WHERE sp.id = $1`;

// plainInsert: no ON CONFLICT (no speculative insertion). A claim of a job already running then
// fails the whole batch with a unique violation, which the store would retry the slow way; the
// dispatch hands an id to one taker, so that only follows a repair.
function design(name, label, { expiryIndex, textEvents = false, plainInsert = false }) {
  const n = name.toLowerCase();
  const CLAIM = claimSql(textEvents, plainInsert);
  const COMPLETE = completeSql(textEvents);
  return {
    name,
    label,
    async setup(client) {
      await client.query(SPECS + `ALTER TABLE job_specs ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;` + RUNNING
        + (expiryIndex ? RUNNING_EXPIRY : '') + DONE + (textEvents ? EVENTS_MIXED : EVENTS_COMPACT));
    },
    async insert(client, jobs) {
      await client.query({ name: `${n}_insert`, text: INSERT, values: specArrays(jobs) });
    },
    async claim(client, ids, toks, lease) {
      return (await client.query({ name: `${n}_claim`, text: CLAIM, values: [ids, toks, lease.expiresAt, lease.workerId, lease.now] })).rowCount;
    },
    async complete(client, ids, toks, now) {
      const { rows } = await client.query({ name: `${n}_complete`, text: COMPLETE, values: [ids, toks, ids.map(() => null), now] });
      return rows.filter((r) => r.settled === null).length;
    },
    async readById(client, id) {
      const { rows } = await client.query({ text: READ, values: [id] });
      return rows[0] ? { state: rows[0].state, attempt: rows[0].attempt } : null;
    },
  };
}

export const F = design('F', 'F running table, no updates (+C+E)', { expiryIndex: true });
export const F2 = design('F2', 'F without the lease-expiry index', { expiryIndex: false });
export const G = design('G', 'G: F with started/succeeded as text built in the statements', { expiryIndex: true, textEvents: true });
export const G2 = design('G2', 'G as recommended: no lease-expiry index, a plain insert', { expiryIndex: false, textEvents: true, plainInsert: true });
