-- Dedup keys (docs/jobs.md#deduplication): while a key is held, a submit with the same key gets
-- the holding job back instead of a new one. Written in the transaction that inserts the job, so
-- concurrent identical submits create one job. A row past expires_at, or whose job ended without
-- doing its work (failed, cancelled, expired, deleted), is taken over by the next submit; the
-- housekeeper deletes expired rows.
CREATE TABLE dedup_keys (
  tenant     TEXT NOT NULL,
  key        TEXT NOT NULL,
  job_id     TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, key)
) WITHOUT ROWID;
CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at);
