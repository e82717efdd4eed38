-- A submit's events as a range of job ids (event-batches.ts): a batch row of a submit whose jobs
-- are every job between its first id (the row's key) and its last keeps `{"last": id}` instead of
-- the list of ids, ~40 bytes less per queued job (issue 17). Rows written before keep their lists.
-- Deleting a job first writes out the list of every range row that covers it: the row's jobs were
-- all created at its `at`, and this index finds the rows of one creation time.
CREATE INDEX events_ranges ON events (at, key) WHERE batch LIKE '{%';
