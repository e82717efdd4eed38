-- Nothing to do on PostgreSQL: SQLite's 0018 indexes the submit batch rows that keep a range of
-- job ids instead of their list; PostgreSQL's event rows are its own (docs/design/hot-path.md).
-- The file keeps both engines' migration lists the same (src/adapters/sql/migrations.ts).
SELECT 1;
