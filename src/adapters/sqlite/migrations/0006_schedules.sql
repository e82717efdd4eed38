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
