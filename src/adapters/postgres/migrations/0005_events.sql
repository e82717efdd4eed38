-- The event log (a transactional outbox): every change of a job's state is recorded by the
-- triggers below in the same transaction as the change, so no code path can change a job without
-- its event, and a crash loses either both or neither.
--
-- A row holds the events of one statement where statements change many jobs at once (a batch
-- insert, claim or completion writes one row for its hundreds of jobs, not hundreds of rows),
-- and one event where jobs change one by one. That keeps the log's cost per job to a few
-- microseconds of JSON building, where a row per event cost a third of the insert throughput.
--
-- `seq` is taken when the row is written, but transactions commit out of seq order, so a reader
-- following seq could pass a row that commits later. The relay (the leader) therefore gives
-- committed rows their final positions (pos_start..pos_end, one per event), in seq order, in a
-- transaction of its own: positions are gap-free and become visible in order, which is what SSE,
-- webhooks and the bus read by. Per job the order holds: a job's next change waits for the row
-- lock its previous one held, and the trigger runs at the end of its statement, so it takes a
-- higher seq and commits later.
CREATE TABLE events (
  seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pos_start BIGINT,
  pos_end   BIGINT,
  n         INTEGER NOT NULL CHECK (n > 0),
  -- The latest event's time: a row is pruned whole.
  at        BIGINT NOT NULL,
  -- A JSON array of the events, in order, each itself a positional array (cheapest to build: see
  -- the functions below):
  --   ["j", type, at, jobId, tenant, linkId, queue, jobType, state, previousState, attempt,
  --    maxAttempts, priority, reason, workerId, condition, runAt, error, progress]   job-events
  --   ["d", ...the same]                                                            dependency-events
  --   ["x", topic, key, tenant, linkId, type, at, data]                             appended events
  -- Text, not json: nothing validates or compresses what the triggers build (out of line, no pglz).
  events    TEXT NOT NULL
);
ALTER TABLE events ALTER COLUMN events SET STORAGE EXTERNAL;
CREATE UNIQUE INDEX events_pos ON events (pos_end) WHERE pos_end IS NOT NULL;
CREATE INDEX events_unpositioned ON events (seq) WHERE pos_end IS NULL;

-- How far each reader has got. `positioned` holds the last position given out.
CREATE TABLE event_cursors (
  name TEXT PRIMARY KEY,
  pos  BIGINT NOT NULL
);
INSERT INTO event_cursors (name, pos) VALUES ('positioned', 0);

-- One stored event as JSON text. concat() with to_json() only around the fields that may need
-- escaping (ids are UUIDs, states are known words, numbers are numbers) costs half of
-- json_build_array (measured: ~1.5 against ~3.5 us per event); a SQL function of plain arguments
-- is inlined by the planner, so it costs nothing of its own.
CREATE FUNCTION docket_event_text(kind TEXT, type TEXT, at BIGINT, id TEXT, tenant TEXT, link_id TEXT, queue TEXT, job_type TEXT,
  state TEXT, prev TEXT, attempt INTEGER, max_attempts INTEGER, priority SMALLINT, reason TEXT, worker_id TEXT, cond TEXT,
  run_at BIGINT, error TEXT, progress JSON) RETURNS TEXT LANGUAGE sql STABLE AS $$
  SELECT concat('["', kind, '","', type, '",', at, ',"', id, '",', to_json(tenant), ',', to_json(link_id), ',', to_json(queue), ',',
    to_json(job_type), ',"', state, '",', coalesce('"' || prev || '"', 'null'), ',', attempt, ',', max_attempts, ',', priority, ',',
    coalesce(to_json(reason)::text, 'null'), ',', coalesce(to_json(worker_id)::text, 'null'), ',', coalesce(to_json(cond)::text, 'null'), ',',
    run_at, ',', coalesce(to_json(error)::text, 'null'), ',', coalesce(progress::text, 'null'), ']')
$$;

-- Inserts: one row for the statement's jobs (a bulk submit of 1,000 logs one row).
CREATE FUNCTION docket_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO events (n, at, events)
  SELECT count(*), max(j.updated_at), '[' || string_agg(e.ev, ',' ORDER BY j.id, e.k) || ']'
  FROM new_jobs j
  CROSS JOIN LATERAL (VALUES
    (1, docket_event_text('j', 'submitted', j.updated_at, j.id, j.tenant, j.link_id, j.queue, j.type, j.state, NULL, j.attempt,
      j.max_attempts, j.priority, j.state_reason, j.worker_id, j.condition, j.run_at, NULL, NULL)),
    (2, CASE WHEN j.state IN ('scheduled', 'waiting') THEN
      docket_event_text(CASE WHEN j.state = 'waiting' THEN 'd' ELSE 'j' END, j.state, j.updated_at, j.id, j.tenant, j.link_id, j.queue, j.type,
        j.state, NULL, j.attempt, j.max_attempts, j.priority, j.state_reason, j.worker_id, j.condition, j.run_at, NULL, NULL) END)
  ) AS e(k, ev)
  WHERE e.ev IS NOT NULL
  HAVING count(*) > 0;
  RETURN NULL;
END
$$;

-- Other changes, one row each: a change of state is named after the new state (`running` is
-- `started`), a change of progress alone is `progress`, and dependencies get released or
-- upstream-failed. The two changes of the hot path, claims (ready -> running) and completions
-- (running -> succeeded), are left out by the trigger's WHEN: their statements log their events
-- themselves, one row per statement (queries.ts CLAIM_JOBS, COMPLETE_JOBS), which spares them a
-- trigger call and transition tables. Lease extensions (heartbeats) log nothing.
CREATE FUNCTION docket_job_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  job_event TEXT;
  dep_event TEXT;
BEGIN
  IF NEW.state <> OLD.state OR (NEW.progress IS NOT NULL AND NEW.progress::text IS DISTINCT FROM OLD.progress::text) THEN
    job_event := docket_event_text('j', CASE WHEN NEW.state = OLD.state THEN 'progress' WHEN NEW.state = 'running' THEN 'started' ELSE NEW.state END,
      NEW.updated_at, NEW.id, NEW.tenant, NEW.link_id, NEW.queue, NEW.type, NEW.state, OLD.state, NEW.attempt, NEW.max_attempts, NEW.priority,
      NEW.state_reason, NEW.worker_id, NEW.condition, NEW.run_at,
      CASE WHEN NEW.state <> OLD.state AND NEW.state IN ('retrying', 'failed', 'blocked') THEN NEW.errors->-1->>'message' END,
      CASE WHEN NEW.state = OLD.state THEN NEW.progress END);
  END IF;
  IF (OLD.state = 'waiting' AND NEW.state = 'ready') OR (NEW.state = 'cancelled' AND OLD.state <> 'cancelled' AND NEW.state_reason = 'upstream_failed') THEN
    dep_event := docket_event_text('d', CASE WHEN NEW.state = 'ready' THEN 'released' ELSE 'upstream-failed' END, NEW.updated_at, NEW.id,
      NEW.tenant, NEW.link_id, NEW.queue, NEW.type, NEW.state, OLD.state, NEW.attempt, NEW.max_attempts, NEW.priority, NEW.state_reason,
      NEW.worker_id, NEW.condition, NEW.run_at, NULL, NULL);
  END IF;
  IF dep_event IS NULL THEN
    INSERT INTO events (n, at, events) VALUES (1, NEW.updated_at, '[' || job_event || ']');
  ELSIF job_event IS NULL THEN
    INSERT INTO events (n, at, events) VALUES (1, NEW.updated_at, '[' || dep_event || ']');
  ELSE
    INSERT INTO events (n, at, events) VALUES (2, NEW.updated_at, '[' || job_event || ',' || dep_event || ']');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_events_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION docket_jobs_inserted();
CREATE TRIGGER jobs_events_update AFTER UPDATE ON jobs FOR EACH ROW
  WHEN ((OLD.state <> NEW.state AND NOT (OLD.state = 'ready' AND NEW.state = 'running') AND NOT (OLD.state = 'running' AND NEW.state = 'succeeded'))
    OR (OLD.state = NEW.state AND NEW.progress IS NOT NULL AND NEW.progress::text IS DISTINCT FROM OLD.progress::text))
  EXECUTE FUNCTION docket_job_updated();
