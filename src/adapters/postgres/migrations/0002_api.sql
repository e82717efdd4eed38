-- Idempotency keys of submits: the first response, replayed to retries with the same key and body.
CREATE TABLE idempotency_keys (
  tenant       TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Queue settings. A queue exists as soon as a job names it; a row here only records a pause.
-- COLLATE "C": paused queues list in byte order, as in the SQLite adapter.
CREATE TABLE queues (
  name       TEXT COLLATE "C" PRIMARY KEY,
  paused     BOOLEAN NOT NULL DEFAULT false,
  updated_at BIGINT NOT NULL
);
