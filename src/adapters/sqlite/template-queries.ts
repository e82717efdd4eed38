/** The SQLite adapter's statements for job templates (sqlite-template-store.ts). */

const TEMPLATE_COLUMNS = `t.tenant, t.id, t.latest_version, t.retired_at, t.used_at, t.created_at, t.updated_at,
  v.description, v.defaults, v.created_at AS version_created_at`;

const WITH_LATEST = `FROM templates t JOIN template_versions v
  ON v.tenant = t.tenant AND v.id = t.id AND v.version = t.latest_version`;

export const INSERT_TEMPLATE = `INSERT INTO templates (tenant, id, latest_version, retired_at, used_at, created_at, updated_at)
  VALUES (@tenant, @id, 1, NULL, NULL, @now, @now) ON CONFLICT (tenant, id) DO NOTHING`;

/** Takes the next version number; retired templates take no new version. */
export const NEXT_VERSION = `UPDATE templates SET latest_version = latest_version + 1, updated_at = @now
  WHERE tenant = @tenant AND id = @id AND retired_at IS NULL RETURNING latest_version AS version`;

export const INSERT_VERSION = `INSERT INTO template_versions (tenant, id, version, description, defaults, created_at)
  VALUES (@tenant, @id, @version, @description, @defaultsJson, @now)`;

export const GET_TEMPLATE = `SELECT ${TEMPLATE_COLUMNS} ${WITH_LATEST} WHERE t.tenant = ? AND t.id = ?`;

export const GET_RECORD = 'SELECT retired_at, used_at FROM templates WHERE tenant = ? AND id = ?';

export const LIST_TEMPLATES = `SELECT ${TEMPLATE_COLUMNS} ${WITH_LATEST} WHERE t.tenant = @tenant ORDER BY t.id LIMIT @limit`;

export const LIST_TEMPLATES_AFTER = `SELECT ${TEMPLATE_COLUMNS} ${WITH_LATEST}
  WHERE t.tenant = @tenant AND t.id > @after ORDER BY t.id LIMIT @limit`;

const VERSION_COLUMNS = 'tenant, id, version, description, defaults, created_at AS version_created_at';

export const GET_VERSION = `SELECT ${VERSION_COLUMNS} FROM template_versions WHERE tenant = ? AND id = ? AND version = ?`;

export const LIST_VERSIONS = `SELECT ${VERSION_COLUMNS} FROM template_versions WHERE tenant = ? AND id = ? ORDER BY version`;

/** Keeps the first retirement time. */
export const RETIRE = `UPDATE templates SET retired_at = @now, updated_at = @now
  WHERE tenant = @tenant AND id = @id AND retired_at IS NULL`;

/** Changes one row exactly when the template exists; keeps the first use. */
export const MARK_USED = `UPDATE templates SET used_at = coalesce(used_at, @now), updated_at = CASE WHEN used_at IS NULL THEN @now ELSE updated_at END
  WHERE tenant = @tenant AND id = @id`;

/** Served by the jobs_template index. */
export const HAS_JOBS = 'SELECT 1 FROM jobs WHERE template_id = ? AND tenant = ? LIMIT 1';

export const DELETE_TEMPLATE = 'DELETE FROM templates WHERE tenant = ? AND id = ?';
export const DELETE_VERSIONS = 'DELETE FROM template_versions WHERE tenant = ? AND id = ?';
