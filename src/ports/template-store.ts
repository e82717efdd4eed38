import type { TemplateDefaults } from '../domain/template.js';

/**
 * Job templates as the store keeps them, per tenant. A template is a row of its own plus its
 * versions 1..latestVersion, which never change once written: a job's (templateId,
 * templateVersion) keeps naming exactly what it was built from. Times are epoch ms.
 */
export interface TemplateRecord {
  tenant: string;
  id: string;
  latestVersion: number;
  /** Set once retired: the template takes no new jobs and stays readable. */
  retiredAt: number | null;
  /** The first time a job was created from it, else null (see TemplateStore.delete). */
  usedAt: number | null;
  createdAt: number;
  /** The last new version, retirement or first use. */
  updatedAt: number;
}

export interface TemplateVersion {
  tenant: string;
  id: string;
  version: number;
  description: string | null;
  defaults: TemplateDefaults;
  createdAt: number;
}

/** A template with its latest version. */
export interface Template extends TemplateRecord {
  latest: TemplateVersion;
}

export interface NewTemplateVersion {
  tenant: string;
  id: string;
  description: string | null;
  /** The defaults as JSON text, already validated. */
  defaultsJson: string;
  now: number;
}

export type AddVersionResult = { ok: true; version: number } | { ok: false; reason: 'not_found' | 'retired' };

/**
 * - `in_use`: jobs were created from it and it is not retired (a submit may be underway), or it
 *   is retired but jobs created from it are still stored (they name it as their origin).
 */
export type DeleteTemplateResult = { ok: true } | { ok: false; reason: 'not_found' } | { ok: false; reason: 'in_use'; retired: boolean };

export interface TemplatePage {
  /** By id. */
  templates: Template[];
  /** Pass back as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Both stores run test/conformance/template-store-conformance.ts. */
export interface TemplateStore {
  /** Creates the template with version 1. False when the tenant has a template of that id. */
  create(version: NewTemplateVersion): Promise<boolean>;
  /** Adds version latestVersion + 1, atomically (concurrent calls get distinct numbers). */
  addVersion(version: NewTemplateVersion): Promise<AddVersionResult>;
  get(tenant: string, id: string): Promise<Template | undefined>;
  getVersion(tenant: string, id: string, version: number): Promise<TemplateVersion | undefined>;
  /** Every version, oldest first. */
  listVersions(tenant: string, id: string): Promise<TemplateVersion[]>;
  list(tenant: string, limit: number, after?: string): Promise<TemplatePage>;
  /** Retires the template (a retired one stays as it was); undefined when there is none. */
  retire(tenant: string, id: string, now: number): Promise<Template | undefined>;
  /**
   * Records that a job is about to be created from the template: called before the job is
   * inserted, so a delete that runs meanwhile either sees the mark (and refuses) or has already
   * removed the template (and this returns false: the submit is refused). Keeps the first time.
   */
  markUsed(tenant: string, id: string, now: number): Promise<boolean>;
  /**
   * Deletes the template and its versions when it is unused, or retired with no stored job
   * created from it (they were pruned or purged); otherwise says why not.
   */
  delete(tenant: string, id: string): Promise<DeleteTemplateResult>;
}
