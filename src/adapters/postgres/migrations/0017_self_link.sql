-- Nothing to do on PostgreSQL: SQLite's 0017 stores an empty link id for a job linked to itself, to
-- shrink its job_specs rows; PostgreSQL's jobs table keeps its layout (docs/design/hot-path.md).
-- The file keeps both engines' migration lists the same (src/adapters/sql/migrations.ts).
SELECT 1;
