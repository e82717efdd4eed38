import type { Template, TemplateVersion } from '../../ports/template-store.js';
import type { TemplateDetail } from '../../services/template-service.js';
import type { TemplateViewType } from './template-schemas.js';

/** The JSON face of a template: its latest version inline, times as ISO 8601. */
export function templateView(t: Template | TemplateDetail): TemplateViewType {
  const view: TemplateViewType = {
    id: t.id,
    tenant: t.tenant,
    version: t.latestVersion,
    description: t.latest.description,
    defaults: t.latest.defaults,
    retired: t.retiredAt !== null,
    retiredAt: isoOrNull(t.retiredAt),
    usedAt: isoOrNull(t.usedAt),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
  if ('versions' in t) view.versions = t.versions.map((v) => ({ version: v.version, description: v.description, createdAt: iso(v.createdAt) }));
  return view;
}

export function templateVersionView(t: Template, v: TemplateVersion) {
  return {
    id: v.id,
    tenant: v.tenant,
    version: v.version,
    latest: v.version === t.latestVersion,
    retired: t.retiredAt !== null,
    description: v.description,
    defaults: v.defaults,
    createdAt: iso(v.createdAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
