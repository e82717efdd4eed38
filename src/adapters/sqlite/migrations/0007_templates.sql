-- Job templates (docs/templates.md): named job defaults per tenant, in immutable versions.

-- One row per template. latest_version is the version counter: a new version takes
-- latest_version + 1 in the transaction that inserts it. used_at is set (before the job insert)
-- the first time a job is created from the template: from then on it is retired, not deleted.
CREATE TABLE templates (
  tenant         TEXT NOT NULL,
  id             TEXT NOT NULL,
  latest_version INTEGER NOT NULL,
  retired_at     INTEGER,
  used_at        INTEGER,
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;

-- Versions 1..latest_version; never updated. defaults is JSON text.
CREATE TABLE template_versions (
  tenant      TEXT NOT NULL,
  id          TEXT NOT NULL,
  version     INTEGER NOT NULL,
  description TEXT,
  defaults    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant, id, version)
) WITHOUT ROWID;

-- The template a job was created from, and its version; NULL for other jobs.
ALTER TABLE jobs ADD COLUMN template_id TEXT;
ALTER TABLE jobs ADD COLUMN template_version INTEGER;

-- Listing a template's jobs (GET /v1/jobs?templateId=) newest first, and the "still has jobs"
-- check of a template delete. Partial: jobs without a template never enter it.
CREATE INDEX jobs_template ON jobs (template_id, id) WHERE template_id IS NOT NULL;
