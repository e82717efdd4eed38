-- Recovery conditions and dead letters, as in the SQLite adapter.

-- A blocked job is parked under a recovery condition (`service:payments-api`) since blocked_at.
-- COLLATE "C": conditions list and group in byte order, as in the SQLite adapter.
ALTER TABLE jobs ADD COLUMN condition TEXT COLLATE "C";
ALTER TABLE jobs ADD COLUMN blocked_at BIGINT;

-- Parked jobs of a condition in release order (listParked, parkedCounts). Partial: a write that
-- leaves a job outside 'blocked' adds no entry to it (state is already indexed, so these writes
-- were not HOT updates anyway).
CREATE INDEX jobs_parked ON jobs (condition, priority, run_at, id) WHERE state = 'blocked';

-- Finished jobs of a queue and state by finish time: dead-letter listing by finish time and
-- retention pruning (findPrunable: oldest first, and the newest N kept). Partial on finished_at,
-- so a claim adds nothing to it: each job enters it once, when it finishes. id is the tie-break
-- of equal finish times (batches finish with one timestamp).
CREATE INDEX jobs_finished ON jobs (state, queue, finished_at, id) WHERE finished_at IS NOT NULL;

-- Recovery conditions: the shared cause many jobs are parked under. One row per key.
CREATE TABLE conditions (
  key             TEXT COLLATE "C" PRIMARY KEY,
  status          TEXT NOT NULL CHECK (status IN ('open','probing','releasing')),
  first_seen_at   BIGINT NOT NULL,
  last_seen_at    BIGINT NOT NULL,
  last_error      TEXT NOT NULL,
  failures        BIGINT NOT NULL,
  probe_job_id    TEXT,
  next_probe_at   BIGINT NOT NULL,
  probe_failures  INTEGER NOT NULL DEFAULT 0,
  releasing_since BIGINT,
  released        BIGINT NOT NULL DEFAULT 0,
  updated_at      BIGINT NOT NULL
);
