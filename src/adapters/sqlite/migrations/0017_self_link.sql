-- A job linked to itself (every job but a resubmit's) stores an empty link_id instead of its own
-- id again: a NULL-sized value (SQLite writes no bytes for an empty text, as for NULL), 36 bytes
-- less per job (issue 17: the store's bytes per queued job, docs/design/hot-path-embedded.md).
-- The column stays NOT NULL, so the table is not rebuilt; the `jobs` view and the event triggers
-- read the job's own id back for an empty one.
UPDATE job_specs SET link_id = '' WHERE link_id = id;

DROP INDEX job_specs_link;
-- The jobs linked to another job. A query by link id names `link_ref <> ''` so that SQLite
-- matches this index's WHERE (job-filters.ts, the dialect's linkId).
CREATE INDEX job_specs_link ON job_specs (link_id) WHERE link_id <> '';

DROP VIEW jobs;
CREATE VIEW jobs AS SELECT h.id AS id, h.tenant AS tenant, h.queue AS queue, s.type AS type, s.payload AS payload,
  h.priority AS priority, s.labels AS labels, h.state AS state, h.state_reason AS state_reason, h.run_at AS run_at,
  h.expires_at AS expires_at, s.timeout_ms AS timeout_ms, s.max_attempts AS max_attempts, h.attempt AS attempt,
  coalesce(s.backoff, '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}') AS backoff,
  CASE s.link_id WHEN '' THEN h.id ELSE s.link_id END AS link_id, s.resubmitted_from AS resubmitted_from, h.lease_token AS lease_token,
  h.lease_expires_at AS lease_expires_at, h.worker_id AS worker_id, h.progress AS progress, h.result AS result,
  h.errors AS errors, s.created_at AS created_at, h.updated_at AS updated_at, h.started_at AS started_at,
  h.finished_at AS finished_at, h.condition AS condition, h.blocked_at AS blocked_at, s.template_id AS template_id,
  s.template_version AS template_version, s.callback_url AS callback_url, s.trace_context AS trace_context,
  s.link_id AS link_ref
  FROM jobs_hot h JOIN job_specs s ON s.id = h.id;

-- As 0016_hot_path's, with the job's own id for an empty link_id.
DROP TRIGGER jobs_hot_events_state;
CREATE TRIGGER jobs_hot_events_state AFTER UPDATE OF state ON jobs_hot
  WHEN OLD.state <> NEW.state AND NOT (OLD.state = 'ready' AND NEW.state = 'running')
    AND NOT (OLD.state = 'running' AND NEW.state = 'succeeded') BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, error)
    SELECT 'job-events', NEW.id, NEW.tenant, CASE s.link_id WHEN '' THEN NEW.id ELSE s.link_id END, NEW.state, NEW.updated_at,
      NEW.queue, s.type, NEW.state, OLD.state, NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at,
      CASE WHEN NEW.state IN ('retrying', 'failed', 'blocked') THEN json_extract(NEW.errors, '$[#-1].message') END
    FROM job_specs s WHERE s.id = NEW.id;
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at)
    SELECT 'dependency-events', NEW.id, NEW.tenant, CASE s.link_id WHEN '' THEN NEW.id ELSE s.link_id END, CASE WHEN NEW.state = 'ready' THEN 'released' ELSE 'upstream-failed' END, NEW.updated_at,
      NEW.queue, s.type, NEW.state, OLD.state, NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at
    FROM job_specs s WHERE s.id = NEW.id
      AND ((OLD.state = 'waiting' AND NEW.state = 'ready') OR (NEW.state = 'cancelled' AND NEW.state_reason = 'upstream_failed'));
END;

DROP TRIGGER jobs_hot_events_progress;
CREATE TRIGGER jobs_hot_events_progress AFTER UPDATE OF progress ON jobs_hot
  WHEN OLD.state = NEW.state AND NEW.progress IS NOT NULL AND NEW.progress IS NOT OLD.progress BEGIN
  INSERT INTO events (topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt, max_attempts, priority, reason, worker_id, condition, run_at, progress)
    SELECT 'job-events', NEW.id, NEW.tenant, CASE s.link_id WHEN '' THEN NEW.id ELSE s.link_id END, 'progress', NEW.updated_at, NEW.queue, s.type, NEW.state, OLD.state,
      NEW.attempt, s.max_attempts, NEW.priority, NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at, NEW.progress
    FROM job_specs s WHERE s.id = NEW.id;
END;
