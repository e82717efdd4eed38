-- The expirer's index (0001_jobs's jobs_expiry) with its states spelled with OR instead of IN.
-- With `state IN (...)` in a partial index's WHERE, SQLite builds the list's lookup table again for
-- every row it writes, so each insert into jobs cost ~280 us instead of ~12 (measured on a WAL file,
-- docs/benchmarks.md). Same rows, same use: FIND_EXPIRED (queries.ts) spells its WHERE the same way,
-- which is what lets SQLite use a partial index.
DROP INDEX jobs_expiry;
CREATE INDEX jobs_expiry ON jobs (expires_at)
  WHERE expires_at IS NOT NULL
    AND (state = 'scheduled' OR state = 'waiting' OR state = 'ready' OR state = 'retrying' OR state = 'blocked');
