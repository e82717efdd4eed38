-- Jobs: the durable truth. Times are epoch milliseconds (BIGINT). Payload, result, progress and
-- backoff are `json`: kept verbatim and cheaper to insert than jsonb, and only ever read whole.
-- Labels are jsonb for a future containment filter (labels @> '{"k":"v"}'); errors is jsonb so a
-- failure can append to it (errors || ...) without rewriting JSON text by hand.
-- Ids are compared with COLLATE "C": byte order is UUIDv7 creation order whatever the database's
-- default collation, and it skips locale-aware comparison.
CREATE TABLE jobs (
  id               TEXT COLLATE "C" PRIMARY KEY,
  tenant           TEXT NOT NULL,
  queue            TEXT COLLATE "C" NOT NULL,
  type             TEXT NOT NULL,
  payload          JSON NOT NULL,
  priority         SMALLINT NOT NULL CHECK (priority BETWEEN 1 AND 10),
  labels           JSONB NOT NULL DEFAULT '{}',
  state            TEXT COLLATE "C" NOT NULL CHECK (state IN ('scheduled','waiting','ready','running','retrying','blocked','succeeded','failed','cancelled','expired')),
  state_reason     TEXT,
  run_at           BIGINT NOT NULL,
  expires_at       BIGINT,
  timeout_ms       BIGINT,
  max_attempts     INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  backoff          JSON NOT NULL,
  link_id          TEXT NOT NULL,
  resubmitted_from TEXT,
  lease_token      TEXT,
  lease_expires_at BIGINT,
  worker_id        TEXT,
  progress         JSON,
  result           JSON,
  errors           JSONB NOT NULL DEFAULT '[]',
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL,
  started_at       BIGINT,
  finished_at      BIGINT
);

-- Listing by state, rebuilding the dispatch index at start (keyset over queue, id per state), and
-- the lease reaper (running jobs are few), as in the SQLite adapter.
CREATE INDEX jobs_state ON jobs (state, queue, id);
-- The expirer: only jobs that have an expiry and have not started.
CREATE INDEX jobs_expiry ON jobs (expires_at)
  WHERE expires_at IS NOT NULL AND state IN ('scheduled','waiting','ready','retrying','blocked');
CREATE INDEX jobs_link ON jobs (link_id);
