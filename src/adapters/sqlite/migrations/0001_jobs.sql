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
