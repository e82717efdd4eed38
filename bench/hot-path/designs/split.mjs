// B, C and E: the spec apart from a narrow state table whose claims and completions are HOT.
//   B: state rows stay when jobs finish (completion = an update); today's event rows.
//   C: B, and a completion moves the state row to job_done (delete + append); today's event rows.
//   E: C with one compact event row per batch (ids and attempts), nothing built per job.
import { SPECS, STATES, DONE, EVENTS_TODAY, EVENTS_COMPACT, specArrays, SPEC_UNNEST, SPEC_INSERT } from './schema.mjs';

const FILLFACTOR = 50;

// The row triggers today's jobs table evaluates on every update (events of the cold transitions,
// dependents to settle), kept with their WHEN so the hot path pays the same test as in A.
const TRIGGERS = `
CREATE FUNCTION docket_cold_path() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER states_events_update AFTER UPDATE ON job_states FOR EACH ROW
  WHEN ((OLD.state <> NEW.state AND NOT (OLD.state = 'ready' AND NEW.state = 'running') AND NOT (OLD.state = 'running' AND NEW.state = 'succeeded'))
    OR (OLD.state = NEW.state AND NEW.progress IS NOT NULL AND NEW.progress::text IS DISTINCT FROM OLD.progress::text))
  EXECUTE FUNCTION docket_cold_path();
CREATE TRIGGER states_settle_update AFTER UPDATE ON job_states FOR EACH ROW
  WHEN (NEW.has_dependents AND NEW.state <> OLD.state AND NEW.state IN ('succeeded', 'failed', 'cancelled', 'expired'))
  EXECUTE FUNCTION docket_cold_path();`;
const DONE_TRIGGER = `
CREATE TRIGGER states_settle_delete AFTER DELETE ON job_states FOR EACH ROW WHEN (OLD.has_dependents) EXECUTE FUNCTION docket_cold_path();`;

const eventText = (type, at, id, state, prev, attempt, reason, worker, cond) =>
  `docket_event_text('j', '${type}', ${at}, ${id}::text, sp.tenant, coalesce(sp.link_id, sp.id)::text, sp.queue, sp.type, '${state}', ${prev},
    ${attempt}, sp.max_attempts, sp.priority, ${reason}, ${worker}, ${cond}, sp.run_at, NULL, NULL)`;

function statements({ history, compact }) {
  const insertLog = compact
    ? `INSERT INTO events (at, type, ids) SELECT max(created_at), 'submitted', array_agg(id ORDER BY id) FROM j HAVING count(*) > 0`
    : `INSERT INTO events (n, at, events) SELECT count(*), max(sp.created_at), '[' || string_agg(${eventText('submitted', 'sp.created_at', 'sp.id', 'ready', 'NULL', 0, 'NULL', 'NULL', 'NULL')}, ',' ORDER BY sp.id) || ']'
       FROM (SELECT j.*, NULL::uuid AS link_id FROM j) sp HAVING count(*) > 0`;
  const insert = `WITH j AS (SELECT * FROM ${SPEC_UNNEST}),
s AS (${SPEC_INSERT}),
st AS (INSERT INTO job_states (id, updated_at, state) SELECT id, created_at, 'ready' FROM j),
logged AS (${insertLog})
SELECT count(*) FROM j`;

  const claimLog = compact
    ? `INSERT INTO events (at, type, worker_id, ids, attempts) SELECT $5, 'started', $4, array_agg(id ORDER BY id), array_agg(attempt ORDER BY id) FROM claimed HAVING count(*) > 0`
    : `INSERT INTO events (n, at, events) SELECT count(*), $5, '[' || string_agg(${eventText('started', '$5', 'sp.id', 'running', "'ready'", 'sp.attempt', 'sp.state_reason', '$4', 'sp.condition')}, ',' ORDER BY sp.id) || ']'
       FROM claimed sp HAVING count(*) > 0`;
  const claim = `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)),
async AS (SELECT set_config('synchronous_commit', 'off', true) AS setting),
claimed AS (
  UPDATE job_states s SET state = 'running', attempt = s.attempt + 1, lease_token = c.token, lease_expires_at = $3, worker_id = $4,
    started_at = $5, updated_at = $5, progress = NULL
  FROM c JOIN job_specs sp ON sp.id = c.id, async
  WHERE s.id = c.id AND s.state = 'ready' AND (sp.expires_at IS NULL OR sp.expires_at > $5)
  RETURNING sp.id, sp.tenant, sp.queue, sp.type, sp.payload, sp.priority, sp.labels, sp.run_at, sp.expires_at, sp.timeout_ms,
    sp.max_attempts, s.attempt, sp.backoff, sp.link_id, sp.resubmitted_from, sp.created_at, s.condition, sp.template_id,
    sp.template_version, s.state_reason
),
logged AS (${claimLog})
SELECT * FROM claimed`;

  const finish = history
    ? `DELETE FROM job_states s USING c WHERE s.id = c.id AND s.state = 'running' AND s.lease_token = c.token
  RETURNING c.n, s.id, s.has_dependents, s.attempt, s.state_reason, s.worker_id, s.condition, s.started_at, s.errors, c.result`
    : `UPDATE job_states s SET state = 'succeeded', result = c.result::json, lease_expires_at = NULL, finished_at = $4, updated_at = $4
  FROM c WHERE s.id = c.id AND s.state = 'running' AND s.lease_token = c.token
  RETURNING c.n, s.id, s.has_dependents, s.attempt, s.state_reason, s.worker_id, s.condition`;
  const moved = history
    ? `moved AS (INSERT INTO job_done (id, finished_at, started_at, attempt, state, worker_id, state_reason, result, errors)
  SELECT id, $4, started_at, attempt, 'succeeded', worker_id, state_reason, result::json, errors FROM done),`
    : '';
  const completeLog = compact
    ? `INSERT INTO events (at, type, ids, attempts) SELECT $4, 'succeeded', array_agg(id ORDER BY id), array_agg(attempt ORDER BY id) FROM done HAVING count(*) > 0`
    : `INSERT INTO events (n, at, events) SELECT count(*), $4, '[' || string_agg(${eventText('succeeded', '$4', 'd.id', 'succeeded', "'running'", 'd.attempt', 'd.state_reason', 'd.worker_id', 'd.condition')}, ',' ORDER BY d.id) || ']'
       FROM done d JOIN job_specs sp ON sp.id = d.id HAVING count(*) > 0`;
  const missState = history ? `coalesce(s.state, (SELECT f.state FROM job_done f WHERE f.id = c.id))` : 's.state';
  const complete = `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS c(id, token, result, n)),
done AS (${finish}),
${moved}
logged AS (${completeLog})
SELECT c.n, ${missState} AS state, s.lease_token IS NOT DISTINCT FROM c.token AS token_matched, NULL::text AS settled
FROM c LEFT JOIN job_states s ON s.id = c.id
WHERE NOT EXISTS (SELECT 1 FROM done WHERE done.n = c.n)
UNION ALL
SELECT done.n, NULL, NULL, done.id::text FROM done WHERE done.has_dependents`;

  const read = history
    ? `SELECT coalesce(s.state, f.state) AS state, coalesce(s.attempt, f.attempt) AS attempt, sp.payload
       FROM job_specs sp LEFT JOIN job_states s ON s.id = sp.id LEFT JOIN job_done f ON f.id = sp.id WHERE sp.id = $1`
    : `SELECT s.state, s.attempt, sp.payload FROM job_specs sp JOIN job_states s ON s.id = sp.id WHERE sp.id = $1`;
  return { insert, claim, complete, read };
}

function design(name, label, options) {
  const q = statements(options);
  const fillfactor = options.fillfactor ?? FILLFACTOR;
  return {
    name,
    label,
    async setup(client) {
      await client.query(SPECS + STATES(fillfactor) + TRIGGERS + (options.history ? DONE + DONE_TRIGGER : '') + (options.compact ? EVENTS_COMPACT : EVENTS_TODAY));
    },
    async insert(client, jobs) {
      await client.query({ name: `${name}_insert`, text: q.insert, values: specArrays(jobs) });
    },
    async claim(client, ids, toks, lease) {
      return (await client.query({ name: `${name}_claim`, text: q.claim, values: [ids, toks, lease.expiresAt, lease.workerId, lease.now] })).rowCount;
    },
    async complete(client, ids, toks, now) {
      const { rows } = await client.query({ name: `${name}_complete`, text: q.complete, values: [ids, toks, ids.map(() => null), now] });
      return rows.filter((r) => r.settled === null).length;
    },
    async readById(client, id) {
      const { rows } = await client.query({ text: q.read, values: [id] });
      return rows[0] ? { state: rows[0].state, attempt: rows[0].attempt } : null;
    },
  };
}

export const B = design('B', 'B narrow HOT state', { history: false, compact: false });
export const C = design('C', 'C B + finished rows moved to job_done', { history: true, compact: false });
export const E = design('E', 'E C + one compact event row per batch', { history: true, compact: true });

/** A design with another fillfactor for job_states: `E@35` on the command line. */
export function withFillfactor(base, fillfactor) {
  const options = { B: { history: false, compact: false }, C: { history: true, compact: false }, E: { history: true, compact: true } }[base.name];
  return design(`${base.name}${fillfactor}`, `${base.label}, fillfactor ${fillfactor}`, { ...options, fillfactor });
}
