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
