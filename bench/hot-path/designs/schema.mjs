// Tables shared by the redesigned prototypes (B, C, E, D): the immutable spec apart from the
// mutable state, uuid ids (16 bytes against 37 as text, in the table and in every index), and
// defaults stored as NULL (labels {}, the default backoff, link_id = own id).

/** The job as submitted: written once, never updated, so it never leaves a dead tuple behind. */
export const SPECS = `
CREATE TABLE job_specs (
  id               uuid PRIMARY KEY,
  run_at           bigint NOT NULL,
  created_at       bigint NOT NULL,
  expires_at       bigint,
  timeout_ms       bigint,
  priority         smallint NOT NULL,
  max_attempts     smallint NOT NULL,
  template_version integer,
  tenant           text NOT NULL,
  queue            text COLLATE "C" NOT NULL,
  type             text NOT NULL,
  payload          json NOT NULL,
  labels           jsonb,   -- NULL: {}
  backoff          json,    -- NULL: the default
  link_id          uuid,    -- NULL: its own id
  resubmitted_from uuid,
  template_id      text,
  callback_url     text
);`;

/**
 * What changes: no index besides the primary key (no column a transition changes is indexed), and
 * fillfactor 50 so that a page keeps room for a new version of each of its rows: a claim batch
 * updates every row of consecutive pages in one statement, before any old version can be pruned.
 */
export const STATES = (fillfactor) => `
CREATE TABLE job_states (
  id               uuid PRIMARY KEY,
  updated_at       bigint NOT NULL,
  lease_expires_at bigint,
  started_at       bigint,
  finished_at      bigint,
  blocked_at       bigint,
  lease_token      uuid,
  attempt          smallint NOT NULL DEFAULT 0,
  has_dependents   boolean NOT NULL DEFAULT false,
  state            text COLLATE "C" NOT NULL,
  state_reason     text,
  worker_id        text,
  condition        text COLLATE "C",
  progress         json,
  result           json,
  errors           jsonb
) WITH (fillfactor = ${fillfactor});`;

/**
 * Finished jobs (C, E, D): appended once, never updated. In production partitioned by finished_at
 * (a partition a day, retention drops whole partitions and deletes their specs); one table here.
 * Only dead letters are indexed beyond the id: a success adds one primary-key entry.
 */
export const DONE = `
CREATE TABLE job_done (
  id           uuid PRIMARY KEY,
  finished_at  bigint NOT NULL,
  started_at   bigint,
  attempt      smallint NOT NULL,
  state        text COLLATE "C" NOT NULL,
  worker_id    text,
  state_reason text,
  result       json,
  errors       jsonb
);
CREATE INDEX job_done_dead ON job_done (state, finished_at, id) WHERE state <> 'succeeded';`;

/** One stored event as JSON text, as migration 0005 defines it (the relay's format). */
export const EVENT_TEXT = `
CREATE FUNCTION docket_event_text(kind TEXT, type TEXT, at BIGINT, id TEXT, tenant TEXT, link_id TEXT, queue TEXT, job_type TEXT,
  state TEXT, prev TEXT, attempt INTEGER, max_attempts INTEGER, priority SMALLINT, reason TEXT, worker_id TEXT, cond TEXT,
  run_at BIGINT, error TEXT, progress JSON) RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT concat('["', kind, '","', type, '",', at, ',"', id, '",', to_json(tenant), ',', to_json(link_id), ',', to_json(queue), ',',
    to_json(job_type), ',"', state, '",', coalesce('"' || prev || '"', 'null'), ',', attempt, ',', max_attempts, ',', priority, ',',
    coalesce(to_json(reason)::text, 'null'), ',', coalesce(to_json(worker_id)::text, 'null'), ',', coalesce(to_json(cond)::text, 'null'), ',',
    run_at, ',', coalesce(to_json(error)::text, 'null'), ',', coalesce(progress::text, 'null'), ']')
$$;`;

/** Today's event log (one row per statement, a JSON text of its events), as migration 0005. */
export const EVENTS_TODAY = `
CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pos_start bigint, pos_end bigint,
  n integer NOT NULL CHECK (n > 0), at bigint NOT NULL, events text NOT NULL);
ALTER TABLE events ALTER COLUMN events SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX events_pos ON events (pos_end) WHERE pos_end IS NOT NULL;
CREATE INDEX events_unpositioned ON events (seq) WHERE pos_end IS NULL;
${EVENT_TEXT}`;

/**
 * E: one row per batch naming its jobs, nothing built per job. The relay expands a row by joining
 * the specs (immutable, so reading them later gives what they were) when it positions the row.
 */
export const EVENTS_COMPACT = `
CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pos_start bigint, pos_end bigint,
  at bigint NOT NULL, type text NOT NULL, worker_id text, ids uuid[] NOT NULL, attempts smallint[]);
CREATE UNIQUE INDEX events_pos ON events (pos_end) WHERE pos_end IS NOT NULL;
CREATE INDEX events_unpositioned ON events (seq) WHERE pos_end IS NULL;
${EVENT_TEXT}`;

/**
 * G: both kinds of row. `submitted` is compact (the insert has no spec join to build text from,
 * and 1M queued jobs' submitted texts are 201 MiB kept 24 hours); `started` and `succeeded` are
 * today's text, built by statements that read the specs anyway.
 */
export const EVENTS_MIXED = `
CREATE TABLE events (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pos_start bigint, pos_end bigint,
  at bigint NOT NULL, n integer, events text, type text, worker_id text, ids uuid[], attempts smallint[],
  CHECK ((events IS NULL) <> (ids IS NULL)));
ALTER TABLE events ALTER COLUMN events SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX events_pos ON events (pos_end) WHERE pos_end IS NOT NULL;
CREATE INDEX events_unpositioned ON events (seq) WHERE pos_end IS NULL;
${EVENT_TEXT}`;

/**
 * What the relay does with a compact row: it expands it into today's event text by joining the
 * specs (immutable, so read later they say what they said then). Rows seq in ($1, $2].
 */
export const EXPAND_COMPACT = `SELECT e.seq, '[' || string_agg(docket_event_text('j', e.type, e.at, x.id::text, sp.tenant, coalesce(sp.link_id, sp.id)::text,
    sp.queue, sp.type, CASE e.type WHEN 'submitted' THEN 'ready' WHEN 'started' THEN 'running' ELSE e.type END,
    CASE e.type WHEN 'started' THEN 'ready' WHEN 'succeeded' THEN 'running' END, coalesce(x.attempt, 0), sp.max_attempts, sp.priority,
    NULL, e.worker_id, NULL, sp.run_at, NULL, NULL), ',' ORDER BY x.k) || ']' AS events
  FROM events e CROSS JOIN LATERAL unnest(e.ids, e.attempts) WITH ORDINALITY AS x(id, attempt, k)
  JOIN job_specs sp ON sp.id = x.id
  WHERE e.seq > $1 AND e.seq <= $2 GROUP BY e.seq ORDER BY e.seq`;

/**
 * The same expansion with the text built by the relay's JavaScript (eventsOf in run.mjs): the
 * statement only joins, one row per event.
 */
export const EXPAND_ROWS = `SELECT e.seq, e.type AS kind, e.at, e.worker_id, x.id, x.attempt, sp.tenant, coalesce(sp.link_id, sp.id) AS link_id,
    sp.queue, sp.type, sp.max_attempts, sp.priority, sp.run_at
  FROM events e CROSS JOIN LATERAL unnest(e.ids, e.attempts) WITH ORDINALITY AS x(id, attempt, k)
  JOIN job_specs sp ON sp.id = x.id
  WHERE e.seq > $1 AND e.seq <= $2 ORDER BY e.seq, x.k`;

/** What the relay reads of today's rows: the text, built already. */
export const READ_TODAY = `SELECT seq, events FROM events WHERE seq > $1 AND seq <= $2 AND events IS NOT NULL ORDER BY seq`;

/** A batch's specs as one array per column (13), spread by unnest() as today's insert does. */
const DEFAULT_BACKOFF = '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}';
export function specArrays(jobs) {
  const cols = Array.from({ length: 13 }, () => new Array(jobs.length));
  jobs.forEach((j, i) => {
    const v = [j.id, j.runAt, j.createdAt, j.expiresAt, j.timeoutMs, j.priority, j.maxAttempts, j.tenant, j.queue, j.type, j.payloadJson,
      j.labels === '{}' ? null : j.labels, j.backoff === DEFAULT_BACKOFF ? null : j.backoff];
    v.forEach((x, c) => (cols[c][i] = x));
  });
  return cols;
}

export const SPEC_UNNEST = `unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::smallint[], $7::smallint[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
  AS j(id, run_at, created_at, expires_at, timeout_ms, priority, max_attempts, tenant, queue, type, payload, labels, backoff)`;

export const SPEC_INSERT = `INSERT INTO job_specs (id, run_at, created_at, expires_at, timeout_ms, priority, max_attempts, tenant, queue, type,
    payload, labels, backoff)
  SELECT id, run_at, created_at, expires_at, timeout_ms, priority, max_attempts, tenant, queue, type, payload::json, labels::jsonb, backoff::json FROM j`;
