/**
 * The PostgreSQL adapter's statements for job templates (postgres-template-store.ts). As in
 * queries.ts, none uses `*`: prepared statements must survive another server adding a column.
 */

const TEMPLATE_COLUMNS = `t.tenant, t.id, t.latest_version, t.retired_at, t.used_at, t.created_at, t.updated_at,
  v.description, v.defaults, v.created_at AS version_created_at`;

const WITH_LATEST = `FROM templates t JOIN template_versions v
  ON v.tenant = t.tenant AND v.id = t.id AND v.version = t.latest_version`;

/** The template and its version 1, in one statement; no row back when the id is taken. $1 tenant, $2 id, $3 description, $4 defaults, $5 now. */
export const CREATE_TEMPLATE = `WITH t AS (
  INSERT INTO templates (tenant, id, latest_version, retired_at, used_at, created_at, updated_at)
  VALUES ($1, $2, 1, NULL, NULL, $5, $5) ON CONFLICT (tenant, id) DO NOTHING RETURNING tenant, id
)
INSERT INTO template_versions (tenant, id, version, description, defaults, created_at)
SELECT tenant, id, 1, $3, $4::json, $5 FROM t RETURNING version`;

/**
 * The next version, in one statement: the update takes the template's row lock, so concurrent
 * calls number their versions one after the other. No row back when the template is missing or
 * retired. Same parameters as CREATE_TEMPLATE.
 */
export const ADD_VERSION = `WITH t AS (
  UPDATE templates SET latest_version = latest_version + 1, updated_at = $5
  WHERE tenant = $1 AND id = $2 AND retired_at IS NULL RETURNING tenant, id, latest_version
)
INSERT INTO template_versions (tenant, id, version, description, defaults, created_at)
SELECT tenant, id, latest_version, $3, $4::json, $5 FROM t RETURNING version`;

export const GET_TEMPLATE = `SELECT ${TEMPLATE_COLUMNS} ${WITH_LATEST} WHERE t.tenant = $1 AND t.id = $2`;

export const GET_RECORD = 'SELECT retired_at, used_at FROM templates WHERE tenant = $1 AND id = $2';

/** $1 tenant, $2 after ('' for the first page: every id sorts after it), $3 limit. */
export const LIST_TEMPLATES = `SELECT ${TEMPLATE_COLUMNS} ${WITH_LATEST}
  WHERE t.tenant = $1 AND t.id > $2 ORDER BY t.id LIMIT $3`;

const VERSION_COLUMNS = 'tenant, id, version, description, defaults, created_at AS version_created_at';

export const GET_VERSION = `SELECT ${VERSION_COLUMNS} FROM template_versions WHERE tenant = $1 AND id = $2 AND version = $3`;

export const LIST_VERSIONS = `SELECT ${VERSION_COLUMNS} FROM template_versions WHERE tenant = $1 AND id = $2 ORDER BY version`;

/** Keeps the first retirement time. $1 tenant, $2 id, $3 now. */
export const RETIRE = `UPDATE templates SET retired_at = $3, updated_at = $3
  WHERE tenant = $1 AND id = $2 AND retired_at IS NULL`;

/** Changes one row exactly when the template exists; keeps the first use. $1 tenant, $2 id, $3 now. */
export const MARK_USED = `UPDATE templates SET used_at = coalesce(used_at, $3), updated_at = CASE WHEN used_at IS NULL THEN $3 ELSE updated_at END
  WHERE tenant = $1 AND id = $2`;

/** Locks the template against markUsed and addVersion while a delete decides. */
export const LOCK_RECORD = 'SELECT retired_at, used_at FROM templates WHERE tenant = $1 AND id = $2 FOR UPDATE';

/** Served by the jobs_template index. */
export const HAS_JOBS = 'SELECT 1 FROM jobs WHERE template_id = $1 AND tenant = $2 LIMIT 1';

/** Its versions go with it (ON DELETE CASCADE). */
export const DELETE_TEMPLATE = 'DELETE FROM templates WHERE tenant = $1 AND id = $2';
