-- Nothing to do on PostgreSQL: SQLite's 0015 rewrites its jobs_expiry index because SQLite pays for
-- an IN list in a partial index's WHERE on every insert; PostgreSQL plans the same predicate once.
-- The file keeps both engines' migration lists the same (src/adapters/sql/migrations.ts).
SELECT 1;
