-- Dependencies between jobs (docs/dependencies.md): `job_id` waits for `depends_on`. The policy
-- (`cancel` or `continue` when the dependency fails) is the dependent's, repeated on each of its
-- edges so that resolution reads one table. No foreign key on depends_on: a dependency deleted by
-- retention leaves the edge, and counts as done.
CREATE TABLE job_deps (
  job_id     TEXT COLLATE "C" NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  depends_on TEXT COLLATE "C" NOT NULL,
  on_failure TEXT NOT NULL CHECK (on_failure IN ('cancel', 'continue')),
  PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX job_deps_depends_on ON job_deps (depends_on);

-- Set (never cleared) on a job when another job starts to depend on it. The submit sets it with
-- an UPDATE, which locks the dependency until the submit commits: a completion racing the submit
-- waits, then sees the flag (and, in its trigger, the new edges); or it went first, and the
-- submit then reads the dependency as done. It also keeps the trigger below free for jobs
-- without dependents (the common case): no lookup at all.
ALTER TABLE jobs ADD COLUMN has_dependents BOOLEAN NOT NULL DEFAULT false;

-- Resolves waiting candidates: cancels those a failed dependency dooms under their `cancel`
-- policy, releases those whose dependencies are all done (succeeded, or ended otherwise under
-- `continue`), then does the same for the dependents of the cancelled ones, level by level (a
-- loop, not recursion: a long chain cancels without a deep stack). Candidates are locked first,
-- in id order; each statement after the lock sees a fresh snapshot (READ COMMITTED), so two
-- dependencies completing at once in two transactions release their dependent exactly once: the
-- second waits for the first's commit, then sees both done. Returns the released jobs.
CREATE FUNCTION docket_settle_waiting(candidates TEXT[], at_ms BIGINT)
RETURNS TABLE (released_id TEXT, released_queue TEXT, released_tenant TEXT, released_priority SMALLINT, released_run_at BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
  doomed TEXT[];
BEGIN
  WHILE cardinality(candidates) > 0 LOOP
    PERFORM 1 FROM jobs j WHERE j.id = ANY(candidates) AND j.state = 'waiting' ORDER BY j.id FOR UPDATE;
    WITH c AS (
      UPDATE jobs j SET state = 'cancelled', state_reason = 'upstream_failed', finished_at = at_ms, updated_at = at_ms
      WHERE j.id = ANY(candidates) AND j.state = 'waiting' AND EXISTS (
        SELECT 1 FROM job_deps d JOIN jobs u ON u.id = d.depends_on
        WHERE d.job_id = j.id AND d.on_failure = 'cancel' AND u.state IN ('failed', 'cancelled', 'expired'))
      RETURNING j.id, j.has_dependents
    )
    SELECT coalesce(array_agg(c.id) FILTER (WHERE c.has_dependents), '{}') INTO doomed FROM c;
    RETURN QUERY WITH r AS (
      UPDATE jobs j SET state = 'ready', state_reason = 'dependencies_done', updated_at = at_ms
      WHERE j.id = ANY(candidates) AND j.state = 'waiting' AND NOT EXISTS (
        SELECT 1 FROM job_deps d JOIN jobs u ON u.id = d.depends_on
        WHERE d.job_id = j.id AND u.state <> 'succeeded' AND (d.on_failure = 'cancel' OR u.state NOT IN ('failed', 'cancelled', 'expired')))
      RETURNING j.id, j.queue, j.tenant, j.priority, j.run_at
    )
    SELECT r.id::text, r.queue::text, r.tenant, r.priority, r.run_at FROM r;
    candidates := ARRAY(SELECT DISTINCT d.job_id FROM job_deps d WHERE d.depends_on = ANY(doomed));
  END LOOP;
END
$$;

-- Every change that settles a job (succeeded, failed, cancelled, expired) resolves its waiting
-- dependents in the same transaction, whatever path made it (completion batch, failure, cancel,
-- expirer, lease reaper). One call per statement; it returns at once when no changed job has
-- dependents. Cancels it makes itself (upstream_failed) are left to its own loop.
-- A job with dependents reached its end (not by an upstream failure, which its own cascade
-- handles): settle its waiting dependents in the same transaction. A row trigger whose WHEN is
-- false for every job without dependents: the hot path (claims, completions of ordinary jobs)
-- pays neither a trigger call nor transition tables.
CREATE FUNCTION docket_job_settle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM docket_settle_waiting(ARRAY(SELECT DISTINCT d.job_id FROM job_deps d WHERE d.depends_on = NEW.id), NEW.updated_at);
  RETURN NULL;
END
$$;

CREATE TRIGGER jobs_settle_dependents AFTER UPDATE ON jobs FOR EACH ROW
  WHEN (NEW.has_dependents AND NEW.state <> OLD.state AND NEW.state IN ('succeeded', 'failed', 'cancelled', 'expired')
    AND NOT (NEW.state = 'cancelled' AND NEW.state_reason IS NOT DISTINCT FROM 'upstream_failed'))
  EXECUTE FUNCTION docket_job_settle();
