-- Job logs (docs/logs.md): the lines a handler writes through ctx.log, per job and attempt. Tables of
-- their own: no write of a job's state touches them, and a job that logs nothing has no row here.
-- No foreign key to jobs: logs go with the job's purge and retention (DeadLetters.purge).
CREATE TABLE job_logs (
  id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id   TEXT COLLATE "C" NOT NULL,
  attempt  INTEGER NOT NULL,
  at       BIGINT NOT NULL,
  level    SMALLINT NOT NULL,
  message  TEXT NOT NULL,
  fields   TEXT,
  bytes    INTEGER NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

-- Each job's log size, kept under its cap: the oldest lines are dropped, and counted.
CREATE TABLE job_log_sizes (
  job_id   TEXT COLLATE "C" PRIMARY KEY,
  bytes    BIGINT NOT NULL,
  dropped  BIGINT NOT NULL DEFAULT 0
);
