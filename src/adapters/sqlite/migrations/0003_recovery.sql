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
