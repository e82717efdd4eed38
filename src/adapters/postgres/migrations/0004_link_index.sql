-- jobs_link holds only the jobs linked to another job (resubmits, explicit link ids): by default a
-- job's link_id is its own id, and listing by link id finds those through the primary key (the
-- store's linkId filter asks both indexes). Every claim and completion of a job inserted an entry
-- here (those updates change `state`, which is indexed, so they are never HOT); for most jobs they
-- no longer do. Measured: about a fifth less PostgreSQL CPU per job drained (docs/benchmarks.md).
DROP INDEX jobs_link;
CREATE INDEX jobs_link ON jobs (link_id) WHERE link_id <> id;
