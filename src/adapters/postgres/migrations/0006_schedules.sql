-- Cron schedules (docs/schedules.md). Times are epoch milliseconds; `job` is the job input as JSON
-- text (kept verbatim, only ever read whole). A name is unique within its tenant.
CREATE TABLE schedules (
  id             TEXT COLLATE "C" PRIMARY KEY,
  tenant         TEXT NOT NULL,
  name           TEXT NOT NULL,
  cron           TEXT NOT NULL,
  timezone       TEXT NOT NULL,
  job            TEXT NOT NULL,
  overlap        TEXT NOT NULL CHECK (overlap IN ('skip','allow','cancel-previous')),
  catch_up       TEXT NOT NULL CHECK (catch_up IN ('none','latest','all')),
  catch_up_limit INTEGER NOT NULL,
  paused         BOOLEAN NOT NULL DEFAULT false,
  start_at       BIGINT,
  end_at         BIGINT,
  next_fire_at   BIGINT,
  last_fire_at   BIGINT,
  last_job_id    TEXT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  CONSTRAINT schedules_tenant_name UNIQUE (tenant, name)
);

CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE NOT paused AND next_fire_at IS NOT NULL;

-- One row per handled fire time. The primary key is what makes a fire happen once, whatever the
-- number of scheduler nodes: the row and the job are inserted in one transaction, and a second
-- node inserting the same fire waits for the first one's commit, then inserts nothing.
CREATE TABLE schedule_fires (
  schedule_id TEXT COLLATE "C" NOT NULL,
  fire_at     BIGINT NOT NULL,
  outcome     TEXT NOT NULL CHECK (outcome IN ('fired','skipped')),
  job_id      TEXT,
  recorded_at BIGINT NOT NULL,
  PRIMARY KEY (schedule_id, fire_at)
);

CREATE INDEX schedule_fires_recorded ON schedule_fires (recorded_at);
