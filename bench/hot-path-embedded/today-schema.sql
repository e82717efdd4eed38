-- Today's embedded schema: src/adapters/sqlite/migrations/0001..0011 at baefd6b, concatenated (the baseline A).
-- ==== 0001_jobs.sql
-- Jobs: the durable truth. Times are epoch milliseconds; JSON columns hold JSON text.
CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,          -- UUIDv7: sorts by creation time
  tenant           TEXT NOT NULL,
  queue            TEXT NOT NULL,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 10),
  labels           TEXT NOT NULL DEFAULT '{}',
  state            TEXT NOT NULL CHECK (state IN ('scheduled','waiting','ready','running','retrying','blocked','succeeded','failed','cancelled','expired')),
  state_reason     TEXT,
  run_at           INTEGER NOT NULL,
  expires_at       INTEGER,
  timeout_ms       INTEGER,
  max_attempts     INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  backoff          TEXT NOT NULL,
  link_id          TEXT NOT NULL,
  resubmitted_from TEXT,
  lease_token      TEXT,
  lease_expires_at INTEGER,
  worker_id        TEXT,
  progress         TEXT,
  result           TEXT,
  errors           TEXT NOT NULL DEFAULT '[]',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER
) WITHOUT ROWID;

-- Listing by state, rebuilding the dispatch index at start, and the lease reaper (running jobs
-- are few: a separate lease index cost ~7% of claim+complete throughput and was dropped).
CREATE INDEX jobs_state ON jobs (state, queue, id);
-- The expirer: only jobs that have an expiry and have not started.
CREATE INDEX jobs_expiry ON jobs (expires_at)
  WHERE expires_at IS NOT NULL AND state IN ('scheduled','waiting','ready','retrying','blocked');
CREATE INDEX jobs_link ON jobs (link_id);
-- ==== 0002_api.sql
-- Idempotency keys of submits: the first response, replayed to retries with the same key and body.
CREATE TABLE idempotency_keys (
  tenant       TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Queue settings. A queue exists as soon as a job names it; a row here only records a pause.
CREATE TABLE queues (
  name       TEXT PRIMARY KEY,
  paused     INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- ==== 0003_recovery.sql
-- Recovery conditions and dead letters.

-- A blocked job is parked under a recovery condition (`service:payments-api`) since blocked_at.
ALTER TABLE jobs ADD COLUMN condition TEXT;
ALTER TABLE jobs ADD COLUMN blocked_at INTEGER;

-- Parked jobs of a condition in release order (listParked, parkedCounts). Partial: only blocked
-- rows are in it, so the claim and completion writes of every other job never touch its B-tree.
CREATE INDEX jobs_parked ON jobs (condition, priority, run_at, id) WHERE state = 'blocked';

-- Finished jobs of a queue and state by finish time: dead-letter listing by finish time and
-- retention pruning (findPrunable: oldest first, and the newest N kept). Partial on finished_at,
-- so a claim (ready -> running) adds nothing to it: each job enters it once, when it finishes.
-- id is the tie-break of equal finish times (batches finish with one timestamp).
CREATE INDEX jobs_finished ON jobs (state, queue, finished_at, id) WHERE finished_at IS NOT NULL;

-- Recovery conditions: the shared cause many jobs are parked under. One row per key.
CREATE TABLE conditions (
  key             TEXT PRIMARY KEY,
  status          TEXT NOT NULL CHECK (status IN ('open','probing','releasing')),
  first_seen_at   INTEGER NOT NULL,
  last_seen_at    INTEGER NOT NULL,
  last_error      TEXT NOT NULL,
  failures        INTEGER NOT NULL,
  probe_job_id    TEXT,
  next_probe_at   INTEGER NOT NULL,
  probe_failures  INTEGER NOT NULL DEFAULT 0,
  releasing_since INTEGER,
  released        INTEGER NOT NULL DEFAULT 0,
  updated_at      INTEGER NOT NULL
);
-- ==== 0004_events.sql
-- The event log (a transactional outbox): every change of a job's state is recorded by the
-- triggers below in the same transaction as the change, so no code path can change a job without
-- its event, and a crash loses either both or neither. The relay publishes the log in `pos`
-- order to the event bus (Kafka); SSE and webhooks read it by position.
-- SQLite has one writer at a time, so rowid order is commit order and `pos` is final as soon as a
-- row is written. A new row's pos is the largest + 1, and pruning never deletes the newest row, so a
-- position is never reused (without AUTOINCREMENT's extra write per row).
--
-- A row per event (SQLite has no statement-level triggers), in plain columns: building a JSON
-- object in the trigger cost twice as much as copying the columns (measured: ~5.5 against ~2.7 us
-- per event); the adapter builds the event's `data` when it reads (sqlite-event-log.ts), with the
-- same fields as PostgreSQL's. Events that are not job changes (workers) carry `data` instead.
CREATE TABLE events (
  pos          INTEGER PRIMARY KEY,
  topic        TEXT NOT NULL,
  key          TEXT NOT NULL,
  tenant       TEXT NOT NULL,
  link_id      TEXT,
  type         TEXT NOT NULL,
  at           INTEGER NOT NULL,
  -- job and dependency events: the job after the change
  queue        TEXT,
  job_type     TEXT,
  state        TEXT,
  prev_state   TEXT,
  attempt      INTEGER,
  max_attempts INTEGER,
  priority     INTEGER,
  reason       TEXT,
  worker_id    TEXT,
  condition    TEXT,
  run_at       INTEGER,
  error        TEXT,
  progress     TEXT,
  -- other events: their data, JSON
  data         TEXT
);

-- How far each reader of the log has got (the bus relay, the webhook matcher...).
CREATE TABLE event_cursors (
  name TEXT PRIMARY KEY,
  pos  INTEGER NOT NULL
);

-- A job that does not start ready also gets `scheduled` (job-events) or `waiting`
-- (dependency-events). One trigger, two statements: the order of events is the order of statements
-- (SQLite does not say in which order several triggers of one change run).
CREATE TRIGGER jobs_events_insert AFTER INSERT ON jobs BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, attempt, max_attempts, priority, reason, worker_id, condition, run_at)
    VALUES ('job-events', NEW.id, NEW.tenant, NEW.link_id, 'submitted', NEW.updated_at, NEW.queue, NEW.type, NEW.state,
      NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at);
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, attempt, max_attempts, priority, reason, worker_id, condition, run_at)
    SELECT CASE NEW.state WHEN 'waiting' THEN 'dependency-events' ELSE 'job-events' END, NEW.id, NEW.tenant, NEW.link_id, NEW.state, NEW.updated_at,
      NEW.queue, NEW.type, NEW.state, NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at
    WHERE NEW.state IN ('scheduled', 'waiting');
END;

-- A change of state: the event is named after the new state (`running` is `started`); then, for
-- dependencies, released (waiting -> ready) or upstream-failed (cancelled because one failed).
CREATE TRIGGER jobs_events_state AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, error)
    VALUES ('job-events', NEW.id, NEW.tenant, NEW.link_id, CASE NEW.state WHEN 'running' THEN 'started' ELSE NEW.state END, NEW.updated_at,
      NEW.queue, NEW.type, NEW.state, OLD.state, NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at,
      CASE WHEN NEW.state IN ('retrying', 'failed', 'blocked') THEN json_extract(NEW.errors, '$[#-1].message') END);
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at)
    SELECT 'dependency-events', NEW.id, NEW.tenant, NEW.link_id, CASE WHEN NEW.state = 'ready' THEN 'released' ELSE 'upstream-failed' END, NEW.updated_at,
      NEW.queue, NEW.type, NEW.state, OLD.state, NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at
    WHERE (OLD.state = 'waiting' AND NEW.state = 'ready') OR (NEW.state = 'cancelled' AND NEW.state_reason = 'upstream_failed');
END;

-- Progress reported while running (the state stays).
CREATE TRIGGER jobs_events_progress AFTER UPDATE OF progress ON jobs
  WHEN OLD.state = NEW.state AND NEW.progress IS NOT NULL AND NEW.progress IS NOT OLD.progress BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, progress)
    VALUES ('job-events', NEW.id, NEW.tenant, NEW.link_id, 'progress', NEW.updated_at, NEW.queue, NEW.type, NEW.state, OLD.state,
      NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at, NEW.progress);
END;
-- ==== 0005_schedules.sql
-- Cron schedules (docs/schedules.md). Times are epoch milliseconds; `job` is the job input as JSON
-- text. A name is unique within its tenant.
CREATE TABLE schedules (
  id             TEXT PRIMARY KEY,          -- UUIDv7
  tenant         TEXT NOT NULL,
  name           TEXT NOT NULL,
  cron           TEXT NOT NULL,
  timezone       TEXT NOT NULL,
  job            TEXT NOT NULL,
  overlap        TEXT NOT NULL CHECK (overlap IN ('skip','allow','cancel-previous')),
  catch_up       TEXT NOT NULL CHECK (catch_up IN ('none','latest','all')),
  catch_up_limit INTEGER NOT NULL,
  paused         INTEGER NOT NULL DEFAULT 0,
  start_at       INTEGER,
  end_at         INTEGER,
  next_fire_at   INTEGER,                   -- the earliest fire not yet handled; NULL: none left
  last_fire_at   INTEGER,
  last_job_id    TEXT,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (tenant, name)
) WITHOUT ROWID;

-- The firer: due schedules, and the earliest next fire (how long it may sleep).
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE paused = 0 AND next_fire_at IS NOT NULL;

-- One row per handled fire time. The primary key is what makes a fire happen once, whatever the
-- number of scheduler nodes: the row and the job are inserted in one transaction.
CREATE TABLE schedule_fires (
  schedule_id TEXT NOT NULL,
  fire_at     INTEGER NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('fired','skipped')),
  job_id      TEXT,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (schedule_id, fire_at)
) WITHOUT ROWID;

CREATE INDEX schedule_fires_recorded ON schedule_fires (recorded_at);
-- ==== 0006_templates.sql
-- Job templates (docs/templates.md): named job defaults per tenant, in immutable versions.

-- One row per template. latest_version is the version counter: a new version takes
-- latest_version + 1 in the transaction that inserts it. used_at is set (before the job insert)
-- the first time a job is created from the template: from then on it is retired, not deleted.
CREATE TABLE templates (
  tenant         TEXT NOT NULL,
  id             TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  retired_at     INTEGER,
  used_at        INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

-- Versions 1..latest_version; never updated. defaults is JSON text.
CREATE TABLE template_versions (
  tenant      TEXT NOT NULL,
  id          TEXT NOT NULL,
  version     INTEGER NOT NULL,
  description TEXT,
  defaults    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant, id, version)
) WITHOUT ROWID;

-- The template a job was created from, and its version; NULL for other jobs.
ALTER TABLE jobs ADD COLUMN template_id TEXT;
ALTER TABLE jobs ADD COLUMN template_version INTEGER;

-- Listing a template's jobs (GET /v1/jobs?templateId=) newest first, and the "still has jobs"
-- check of a template delete. Partial: jobs without a template never enter it.
CREATE INDEX jobs_template ON jobs (template_id, id) WHERE template_id IS NOT NULL;
-- ==== 0007_webhooks.sql
-- Webhook subscriptions and their deliveries (src/ports/webhook-store.ts). The dispatcher writes a
-- delivery row per (subscription, matching event) in the transaction that moves its event cursor;
-- the sender sends pending rows that are due, oldest event first per subscription, and records
-- each attempt. Rows outlive a restart, so nothing pending is lost.
CREATE TABLE webhook_subscriptions (
  id                   TEXT PRIMARY KEY,
  tenant               TEXT NOT NULL,
  url                  TEXT NOT NULL,
  queue                TEXT,              -- scope: one queue, or
  job_id               TEXT,              -- one job, or (both NULL) the whole tenant
  events               TEXT NOT NULL,     -- JSON array of event types; [] = all
  description          TEXT,
  secret               TEXT NOT NULL,     -- HMAC key of the signatures
  enabled              INTEGER NOT NULL DEFAULT 1,
  disabled_at          INTEGER,
  disabled_reason      TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant, created_at);
CREATE INDEX webhook_subscriptions_job ON webhook_subscriptions (job_id) WHERE job_id IS NOT NULL;

CREATE TABLE webhook_deliveries (
  id               TEXT PRIMARY KEY,      -- the Docket-Delivery-Id header
  subscription_id  TEXT NOT NULL,
  event_pos        INTEGER NOT NULL,      -- the event's log position: the envelope's id
  event_type       TEXT NOT NULL,
  body             TEXT NOT NULL,         -- the envelope as sent, the same on every attempt
  status           TEXT NOT NULL,         -- pending, delivered, failed
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER,
  last_status_code INTEGER,
  last_error       TEXT,
  last_duration_ms INTEGER,
  created_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  UNIQUE (subscription_id, event_pos)
);
-- The sender's pick: per subscription, its oldest pending delivery.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (subscription_id, event_pos) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';

CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  status_code INTEGER,
  error       TEXT,
  duration_ms INTEGER NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
-- ==== 0008_dependencies.sql
-- Dependencies between jobs (docs/dependencies.md): `job_id` waits for `depends_on`. The policy
-- (`cancel` or `continue` when the dependency fails) is the dependent's, repeated on each of its
-- edges so that resolution reads one table. Resolution runs in the transaction of the change that
-- settles a dependency (src/adapters/sqlite/sqlite-dependencies.ts); the index on depends_on is
-- its one lookup, and tells a completion batch at once that none of its jobs has dependents.
-- No foreign key on depends_on: a dependency deleted by retention leaves the edge, and counts as done.
CREATE TABLE job_deps (
  job_id     TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  on_failure TEXT NOT NULL CHECK (on_failure IN ('cancel', 'continue')),
  PRIMARY KEY (job_id, depends_on)
) WITHOUT ROWID;

CREATE INDEX job_deps_depends_on ON job_deps (depends_on);

-- A deleted dependent takes its edges along (SQLite's foreign keys are off by default).
CREATE TRIGGER jobs_deps_delete AFTER DELETE ON jobs BEGIN
  DELETE FROM job_deps WHERE job_id = OLD.id;
END;
-- ==== 0009_dedup.sql
-- Dedup keys (docs/jobs.md#deduplication): while a key is held, a submit with the same key gets
-- the holding job back instead of a new one. Written in the transaction that inserts the job, so
-- concurrent identical submits create one job. A row past expires_at, or whose job ended without
-- doing its work (failed, cancelled, expired, deleted), is taken over by the next submit; the
-- housekeeper deletes expired rows.
CREATE TABLE dedup_keys (
  tenant     TEXT NOT NULL,
  key        TEXT NOT NULL,
  job_id     TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at);
-- ==== 0010_callbacks.sql
-- Job callbacks (docs/webhooks.md#job-callbacks): a job submitted with `callbackUrl` gets a
-- job-scoped webhook subscription to the events that end it, made by the trigger below in the
-- transaction that inserts the job. A crash cannot leave a job without its callback, and no job
-- can finish before its subscription exists. The subscription's created_at is the job's, so the
-- dispatcher (which matches events from a subscription's creation on) delivers all of its events.
ALTER TABLE jobs ADD COLUMN callback_url TEXT;

-- One signing secret per tenant for its job callbacks, copied into each callback subscription when
-- it is made. Rotating it (POST /v1/webhooks/callback-secret/rotate) changes the row only:
-- subscriptions made before keep the secret they were made with.
CREATE TABLE callback_secrets (
  tenant     TEXT PRIMARY KEY,
  secret     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Subscription ids made here are 32 random hex digits, not UUIDv7 like the API's: they are
-- unique, but do not sort by creation time (listings order by created_at, then id).
CREATE TRIGGER jobs_callback_subscribe AFTER INSERT ON jobs WHEN NEW.callback_url IS NOT NULL BEGIN
  INSERT INTO callback_secrets (tenant, secret, created_at)
    VALUES (NEW.tenant, 'whsec_' || lower(hex(randomblob(32))), NEW.created_at)
    ON CONFLICT (tenant) DO NOTHING;
  INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), NEW.tenant, NEW.callback_url, NULL, NEW.id,
      '["job.succeeded","job.failed","job.cancelled","job.expired"]', 'callbackUrl of job ' || NEW.id, s.secret,
      NEW.created_at, NEW.created_at
    FROM callback_secrets s WHERE s.tenant = NEW.tenant;
END;
-- ==== 0011_alerts.sql
-- Alerts (docs/alerts.md). alert_rules holds each rule's evaluation state, so a new leader goes on
-- where the old one stopped (a pending "for T" keeps its start; a firing alert is not fired again);
-- `version` guards every write (two leaders for a moment: the second write does not apply).
CREATE TABLE alert_rules (
  rule          TEXT PRIMARY KEY,
  pending_since INTEGER,
  firing_id     TEXT,
  evaluated_at  INTEGER NOT NULL,
  version       INTEGER NOT NULL
);

-- One row per firing of a rule; resolved ones are kept 30 days.
CREATE TABLE alerts (
  id          TEXT PRIMARY KEY,
  rule        TEXT NOT NULL,
  kind        TEXT NOT NULL,
  queue       TEXT,
  state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
  value       REAL NOT NULL,
  threshold   REAL NOT NULL,
  fired_at    INTEGER NOT NULL,
  resolved_at INTEGER,
  message     TEXT NOT NULL
);
CREATE INDEX alerts_state ON alerts (state, id);
CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE resolved_at IS NOT NULL;
