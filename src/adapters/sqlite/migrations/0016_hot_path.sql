-- The hot path (docs/design/hot-path-embedded.md, issue 17): the jobs table splits in two.
--   job_specs  what the job is: written once at submit, never updated.
--   jobs_hot   what changes (state, attempt, lease, times) and what the hot indexes are keyed on
--              (tenant, queue, priority, run_at, expires_at). A claim and a completion rewrite
--              this narrow row, not the 32-column one.
-- `jobs` stays as a view of the two, so reads by id, lists, counts and filters read what they
-- read before; every write names the table it changes.
--
-- Events: a claim (ready -> running) and a completion (running -> succeeded), and a submit, no
-- longer fire a trigger per job: the store appends one row per batch (`n` jobs, `batch` a JSON array
-- of each job's changing fields), whose `pos` is the last of the `n` positions it covers, so every
-- event keeps a position of its own (sqlite-event-log.ts expands the row when it is read). Every
-- other change of state is rare and keeps its trigger row.
--
-- Measured by the prototypes (bench/hot-path-embedded): the narrow row with one statement per batch
-- cut the store's CPU per claim+complete from 41.9 to 24.6 us per job, the batch event row a
-- further 1.7 us per submit and 42 bytes per queued job.

CREATE TABLE job_specs (
  id               TEXT PRIMARY KEY,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  labels           TEXT NOT NULL DEFAULT '{}',
  timeout_ms       INTEGER,
  max_attempts     INTEGER NOT NULL,
  -- NULL: the default policy, as the view spells it (rows.ts STORED_DEFAULT_BACKOFF).
  backoff          TEXT,
  link_id          TEXT NOT NULL,
  resubmitted_from TEXT,
  created_at       INTEGER NOT NULL,
  template_id      TEXT,
  template_version INTEGER,
  callback_url     TEXT,
  -- 0013_trace_context: written by the insert, read by claims, never updated.
  trace_context    TEXT
) WITHOUT ROWID;

CREATE TABLE jobs_hot (
  id               TEXT PRIMARY KEY,
  tenant           TEXT NOT NULL,
  queue            TEXT NOT NULL,
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 10),
  -- The states' CHECK is spelled with OR: an IN list cost ~2 us per insert and ~0.6 us per completion
  -- (store level, docs/design/hot-path-embedded.md#built), as 0015 found for partial indexes.
  state            TEXT NOT NULL CHECK (state = 'scheduled' OR state = 'waiting' OR state = 'ready' OR state = 'running'
                     OR state = 'retrying' OR state = 'blocked' OR state = 'succeeded' OR state = 'failed' OR state = 'cancelled'
                     OR state = 'expired'),
  state_reason     TEXT,
  run_at           INTEGER NOT NULL,
  expires_at       INTEGER,
  attempt          INTEGER NOT NULL DEFAULT 0,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  worker_id        TEXT,
  condition        TEXT,
  blocked_at       INTEGER,
  progress         TEXT,
  result           TEXT,
  errors           TEXT NOT NULL DEFAULT '[]',
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER
) WITHOUT ROWID;

INSERT INTO job_specs (id, type, payload, labels, timeout_ms, max_attempts, backoff, link_id, resubmitted_from, created_at,
  template_id, template_version, callback_url, trace_context)
  SELECT id, type, payload, labels, timeout_ms, max_attempts,
    NULLIF(backoff, '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}'), link_id, resubmitted_from,
    created_at, template_id, template_version, callback_url, trace_context
  FROM jobs;

INSERT INTO jobs_hot (id, tenant, queue, priority, state, state_reason, run_at, expires_at, attempt, lease_token, lease_expires_at,
  worker_id, condition, blocked_at, progress, result, errors, updated_at, started_at, finished_at)
  SELECT id, tenant, queue, priority, state, state_reason, run_at, expires_at, attempt, lease_token, lease_expires_at,
    worker_id, condition, blocked_at, progress, result, errors, updated_at, started_at, finished_at
  FROM jobs;

DROP TRIGGER jobs_events_insert;
DROP TRIGGER jobs_events_state;
DROP TRIGGER jobs_events_progress;
DROP TRIGGER jobs_deps_delete;
DROP TRIGGER jobs_callback_subscribe;
DROP TABLE jobs;

CREATE VIEW jobs AS SELECT h.id AS id, h.tenant AS tenant, h.queue AS queue, s.type AS type, s.payload AS payload,
  h.priority AS priority, s.labels AS labels, h.state AS state, h.state_reason AS state_reason, h.run_at AS run_at,
  h.expires_at AS expires_at, s.timeout_ms AS timeout_ms, s.max_attempts AS max_attempts, h.attempt AS attempt,
  coalesce(s.backoff, '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}') AS backoff,
  s.link_id AS link_id, s.resubmitted_from AS resubmitted_from, h.lease_token AS lease_token,
  h.lease_expires_at AS lease_expires_at, h.worker_id AS worker_id, h.progress AS progress, h.result AS result,
  h.errors AS errors, s.created_at AS created_at, h.updated_at AS updated_at, h.started_at AS started_at,
  h.finished_at AS finished_at, h.condition AS condition, h.blocked_at AS blocked_at, s.template_id AS template_id,
  s.template_version AS template_version, s.callback_url AS callback_url, s.trace_context AS trace_context
  FROM jobs_hot h JOIN job_specs s ON s.id = h.id;

-- Partial indexes only: a job is in the one of its state, so a claim moves it out of
-- jobs_hot_ready into jobs_hot_running, a completion into jobs_hot_finished. A list by one state
-- reads its partial index (SQLite matches a bound state against the index's WHERE).
-- The ready order of each queue: priority, then due time, then submission order.
CREATE INDEX jobs_hot_ready ON jobs_hot (queue, priority, run_at, id) WHERE state = 'ready';
-- The lease reaper and the running counts.
CREATE INDEX jobs_hot_running ON jobs_hot (lease_expires_at) WHERE state = 'running';
-- As 0003_recovery's jobs_parked and jobs_finished.
CREATE INDEX jobs_hot_parked ON jobs_hot (condition, priority, run_at, id) WHERE state = 'blocked';
CREATE INDEX jobs_hot_finished ON jobs_hot (state, queue, finished_at, id) WHERE finished_at IS NOT NULL;
-- The expirer, as 0015_expiry_index's jobs_expiry. The WHEREs below spell their states with OR, not
-- IN, as 0015 explains (an IN list in a partial index's WHERE is evaluated for every row written).
CREATE INDEX jobs_hot_expiry ON jobs_hot (expires_at) WHERE expires_at IS NOT NULL
  AND (state = 'scheduled' OR state = 'waiting' OR state = 'ready' OR state = 'retrying' OR state = 'blocked');
-- Delayed and waiting jobs (the dispatch's rebuild, lists by those states).
CREATE INDEX jobs_hot_later ON jobs_hot (state, run_at) WHERE state = 'scheduled' OR state = 'retrying' OR state = 'waiting';
-- As 0004_link_index and 0007_templates.
CREATE INDEX job_specs_link ON job_specs (link_id) WHERE link_id <> id;
CREATE INDEX job_specs_template ON job_specs (template_id, id) WHERE template_id IS NOT NULL;

-- Batch rows of the event log (see above): NULL for a row of one event.
ALTER TABLE events ADD COLUMN n INTEGER;
ALTER TABLE events ADD COLUMN batch TEXT;

-- A change of state other than the hot path's (which the store logs per batch): the event is
-- named after the new state; then, for dependencies, released or upstream-failed. As 0005_events.
CREATE TRIGGER jobs_hot_events_state AFTER UPDATE OF state ON jobs_hot
  WHEN OLD.state <> NEW.state AND NOT (OLD.state = 'ready' AND NEW.state = 'running')
    AND NOT (OLD.state = 'running' AND NEW.state = 'succeeded') BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, error)
    SELECT 'job-events', NEW.id, NEW.tenant, s.link_id, NEW.state, NEW.updated_at,
      NEW.queue, s.type, NEW.state, OLD.state, NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at,
      CASE WHEN NEW.state IN ('retrying', 'failed', 'blocked') THEN json_extract(NEW.errors, '$[#-1].message') END
    FROM job_specs s WHERE s.id = NEW.id;
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at)
    SELECT 'dependency-events', NEW.id, NEW.tenant, s.link_id, CASE WHEN NEW.state = 'ready' THEN 'released' ELSE 'upstream-failed' END, NEW.updated_at,
      NEW.queue, s.type, NEW.state, OLD.state, NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at
    FROM job_specs s WHERE s.id = NEW.id
      AND ((OLD.state = 'waiting' AND NEW.state = 'ready') OR (NEW.state = 'cancelled' AND NEW.state_reason = 'upstream_failed'));
END;

-- Progress reported while running (the state stays). As 0005_events.
CREATE TRIGGER jobs_hot_events_progress AFTER UPDATE OF progress ON jobs_hot
  WHEN OLD.state = NEW.state AND NEW.progress IS NOT NULL AND NEW.progress IS NOT OLD.progress BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, progress)
    SELECT 'job-events', NEW.id, NEW.tenant, s.link_id, 'progress', NEW.updated_at, NEW.queue, s.type, NEW.state, OLD.state,
      NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at, NEW.progress
    FROM job_specs s WHERE s.id = NEW.id;
END;

-- A deleted job takes its spec and its edges along.
CREATE TRIGGER jobs_hot_delete AFTER DELETE ON jobs_hot BEGIN
  DELETE FROM job_specs WHERE id = OLD.id;
  DELETE FROM job_deps WHERE job_id = OLD.id;
END;

-- As 0011_callbacks: the job's callback subscription, in the insert's transaction. The store
-- inserts the jobs_hot row first, so the tenant is there to read.
CREATE TRIGGER job_specs_callback_subscribe AFTER INSERT ON job_specs WHEN NEW.callback_url IS NOT NULL BEGIN
  INSERT INTO callback_secrets (tenant, secret, created_at)
    SELECT h.tenant, 'whsec_' || lower(hex(randomblob(32))), NEW.created_at FROM jobs_hot h WHERE h.id = NEW.id
    ON CONFLICT (tenant) DO NOTHING;
  INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), h.tenant, NEW.callback_url, NULL, NEW.id,
      '["job.succeeded","job.failed","job.cancelled","job.expired"]', 'callbackUrl of job ' || NEW.id, c.secret,
      NEW.created_at, NEW.created_at
    FROM jobs_hot h JOIN callback_secrets c ON c.tenant = h.tenant WHERE h.id = NEW.id;
END;
