-- Issue 17's hot path. SQLite's 0016_hot_path splits its jobs table (see that file); PostgreSQL's
-- redesign is built separately. Nothing to do here yet: the file keeps the engines' migration
-- lists the same (src/adapters/sql/migrations.ts).
SELECT 1;
