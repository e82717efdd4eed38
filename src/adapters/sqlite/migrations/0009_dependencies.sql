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
