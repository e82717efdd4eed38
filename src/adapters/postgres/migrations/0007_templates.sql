-- Job templates (docs/templates.md): named job defaults per tenant, in immutable versions.

-- One row per template. latest_version is the version counter: a new version takes
-- latest_version + 1 under this row's lock. used_at is set (before the job insert) the first time
-- a job is created from the template: from then on it is retired, not deleted.
CREATE TABLE templates (
  tenant         TEXT NOT NULL,
  id             TEXT COLLATE "C" NOT NULL,
  latest_version INTEGER NOT NULL,
  retired_at     BIGINT,
  used_at        BIGINT,
  created_at     BIGINT NOT NULL,
  updated_at     BIGINT NOT NULL,
  PRIMARY KEY (tenant, id)
);

-- Versions 1..latest_version; never updated, removed with their template.
CREATE TABLE template_versions (
  tenant      TEXT NOT NULL,
  id          TEXT COLLATE "C" NOT NULL,
  version     INTEGER NOT NULL,
  description TEXT,
  defaults    JSON NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (tenant, id, version),
  FOREIGN KEY (tenant, id) REFERENCES templates (tenant, id) ON DELETE CASCADE
);

-- The template a job was created from, and its version; NULL for other jobs. Nullable columns
-- without a default: adding them rewrites nothing.
ALTER TABLE jobs ADD COLUMN template_id TEXT, ADD COLUMN template_version INTEGER;

-- Listing a template's jobs (GET /v1/jobs?templateId=) newest first, and the "still has jobs"
-- check of a template delete. Partial: jobs without a template never enter it. Building it reads
-- the whole jobs table once (writes wait meanwhile: seconds on tens of millions of jobs).
CREATE INDEX jobs_template ON jobs (template_id, id) WHERE template_id IS NOT NULL;
