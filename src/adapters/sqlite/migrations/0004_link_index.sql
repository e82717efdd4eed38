-- As PostgreSQL's 0004_link_index: jobs_link holds only the jobs linked to another job (resubmits,
-- explicit link ids). By default a job's link_id is its own id, and listing by link id finds those
-- through the primary key (the linkId filter, src/adapters/sql/job-filters.ts, asks both indexes),
-- so claims and completions, which rewrite the row, no longer touch this index for most jobs.
DROP INDEX jobs_link;
CREATE INDEX jobs_link ON jobs (link_id) WHERE link_id <> id;
