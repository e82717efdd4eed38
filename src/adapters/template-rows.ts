import type { Template, TemplateVersion } from '../ports/template-store.js';

/**
 * A template row joined with a version row, as both SQL adapters read it: the same column names,
 * times as numbers, `defaults` as JSON text (PostgreSQL's json comes back as text, see PG_TYPES).
 */
export interface VersionRow {
  tenant: string;
  id: string;
  version: number;
  description: string | null;
  defaults: string;
  version_created_at: number;
}

export interface TemplateRow extends Omit<VersionRow, 'version'> {
  latest_version: number;
  retired_at: number | null;
  used_at: number | null;
  created_at: number;
  updated_at: number;
}

export function toVersion(r: VersionRow): TemplateVersion {
  return { tenant: r.tenant, id: r.id, version: r.version, description: r.description, defaults: JSON.parse(r.defaults), createdAt: r.version_created_at };
}

export function toTemplate(r: TemplateRow): Template {
  return {
    tenant: r.tenant,
    id: r.id,
    latestVersion: r.latest_version,
    retiredAt: r.retired_at,
    usedAt: r.used_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    latest: toVersion({ ...r, version: r.latest_version }),
  };
}
