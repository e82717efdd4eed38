-- Dedup keys (docs/jobs.md#deduplication): while a key is held, a submit with the same key gets
-- the holding job back instead of a new one. Written in the transaction that inserts the job: the
-- primary key makes concurrent identical submits wait for the first one's commit and then see its
-- key, so they create one job. A row past expires_at, or whose job ended without doing its work
-- (failed, cancelled, expired, deleted), is taken over by the next submit with a compare-and-set
-- on job_id; the housekeeper deletes expired rows. No foreign key: a deleted job frees its key.
CREATE TABLE dedup_keys (
  tenant     TEXT NOT NULL,
  key        TEXT NOT NULL,
  job_id     TEXT COLLATE "C" NOT NULL,  -- as jobs.id, so the two compare
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, key)
);
CREATE INDEX dedup_keys_expiry ON dedup_keys (expires_at);
