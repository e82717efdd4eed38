import { ConflictError, NotFoundError, ValidationError, type Issue } from '../domain/errors.js';
import { DEFAULT_INPUT_LIMITS, NAME_PATTERN, toJobSpec, type InputLimits } from '../domain/job-input.js';
import { applyTemplate, checkDefaults, type TemplateDefaults, type TemplateOrigin } from '../domain/template.js';
import type { Clock } from '../ports/clock.js';
import type { Template, TemplatePage, TemplateStore, TemplateVersion } from '../ports/template-store.js';

/** A template with every version (oldest first). */
export interface TemplateDetail extends Template {
  versions: TemplateVersion[];
}

/** Submitted inputs with their template references resolved (see TemplateService.expand). */
export interface Expansion {
  /** Plain job inputs: each template reference replaced by the merged job. */
  inputs: unknown[];
  /** Per input, the template version it came from, or null. */
  origins: (TemplateOrigin | null)[];
}

const NAME = new RegExp(NAME_PATTERN);

/** Templates and versions read during one submit, by id and by `id@version`. */
interface Lookups {
  templates: Map<string, Promise<Template | undefined>>;
  versions: Map<string, Promise<TemplateVersion | undefined>>;
}
const MAX_DESCRIPTION = 1000;

/**
 * Job templates: create, version, read, retire, delete, and the resolution of `templateId` in
 * submits. Everything is per tenant: one tenant never sees or uses another's templates.
 */
export class TemplateService {
  constructor(
    private readonly store: TemplateStore,
    private readonly clock: Clock,
    private readonly limits: InputLimits = DEFAULT_INPUT_LIMITS,
  ) {}

  /** Creates a template with its version 1. Throws ConflictError when the id is taken. */
  async create(tenant: string, body: unknown): Promise<TemplateDetail> {
    const now = this.clock.now();
    const { id, description, defaults } = this.checkBody(body, true, now);
    const created = await this.store.create({ tenant, id: id!, description, defaultsJson: JSON.stringify(defaults), now });
    if (!created) {
      throw new ConflictError('template_exists', `template ${id} exists; add a version with POST /v1/templates/${id}/versions`, [{ path: '/id', message: 'taken' }]);
    }
    return this.get(tenant, id!);
  }

  /** Adds the next version; earlier versions stay as they were. A retired template takes none. */
  async addVersion(tenant: string, id: string, body: unknown): Promise<TemplateDetail> {
    const now = this.clock.now();
    const { description, defaults } = this.checkBody(body, false, now);
    const added = await this.store.addVersion({ tenant, id, description, defaultsJson: JSON.stringify(defaults), now });
    if (!added.ok && added.reason === 'not_found') throw new NotFoundError('template', id);
    if (!added.ok) throw new ConflictError('template_retired', `template ${id} is retired: it takes no new versions; create a template under a new id`);
    return this.get(tenant, id);
  }

  async get(tenant: string, id: string): Promise<TemplateDetail> {
    const template = await this.store.get(tenant, id);
    if (!template) throw new NotFoundError('template', id);
    return { ...template, versions: await this.store.listVersions(tenant, id) };
  }

  async version(tenant: string, id: string, version: number): Promise<{ template: Template; version: TemplateVersion }> {
    const template = await this.store.get(tenant, id);
    if (!template) throw new NotFoundError('template', id);
    const v = version === template.latestVersion ? template.latest : await this.store.getVersion(tenant, id, version);
    if (!v) throw new NotFoundError(`version ${version} of template`, `${id} (it has versions 1 to ${template.latestVersion})`);
    return { template, version: v };
  }

  list(tenant: string, limit: number, after?: string): Promise<TemplatePage> {
    return this.store.list(tenant, limit, after);
  }

  /** Retires the template: no new jobs or versions from it; it stays readable. Idempotent. */
  async retire(tenant: string, id: string): Promise<TemplateDetail> {
    if (!(await this.store.retire(tenant, id, this.clock.now()))) throw new NotFoundError('template', id);
    return this.get(tenant, id);
  }

  /** Deletes a template no job refers to; a used one is refused with ConflictError (retire it). */
  async delete(tenant: string, id: string): Promise<void> {
    const result = await this.store.delete(tenant, id);
    if (result.ok) return;
    if (result.reason === 'not_found') throw new NotFoundError('template', id);
    throw new ConflictError(
      'template_in_use',
      result.retired
        ? `template ${id} is retired, but jobs created from it are still stored (they name it as their origin); it can be deleted once they are gone (retention, or purge)`
        : `template ${id} is in use: jobs were created from it; retire it instead (POST /v1/templates/${id}/retire), it stays readable and takes no new jobs`,
    );
  }

  /**
   * Resolves the template references of submitted inputs (`templateId`, `templateVersion`):
   * each becomes the merged job input (domain/template.ts: applyTemplate), validated here with
   * every other input so that nothing is marked used for a submit that fails. Issues are named as
   * the job service names them (`/templateId`, or `/3/templateId` in a batch). A retired
   * template refuses with ConflictError (409) when that is the only problem.
   */
  async expand(inputs: readonly unknown[], tenant: string, now: number): Promise<Expansion> {
    const base = (i: number) => (inputs.length > 1 ? `/${i}` : '');
    const lookups: Lookups = { templates: new Map(), versions: new Map() };
    const issues: Issue[] = [];
    const retired: Issue[] = [];
    const out: unknown[] = [];
    const origins: (TemplateOrigin | null)[] = [];
    const firstUse = new Map<string, number>();
    for (const [i, input] of inputs.entries()) {
      origins.push(null);
      out.push(input);
      if (!isObject(input) || (input.templateId === undefined && input.templateVersion === undefined)) continue;
      const found = await this.resolve(input, tenant, base(i), lookups);
      if ('issue' in found) {
        (found.retired ? retired : issues).push(found.issue);
        out[i] = undefined; // nothing to validate: the reference itself is wrong
        continue;
      }
      out[i] = applyTemplate(found.defaults, input, now);
      origins[i] = { id: found.template.id, version: found.version };
      if (found.template.usedAt === null && !firstUse.has(found.template.id)) firstUse.set(found.template.id, i);
    }
    out.forEach((input, i) => {
      if (input === undefined) return;
      try {
        toJobSpec(input, now, this.limits, base(i));
      } catch (err) {
        if (err instanceof ValidationError) issues.push(...err.issues);
        else throw err;
      }
    });
    // Checked after the other inputs: a 409 only when the retired template is the only problem.
    if (issues.length > 0) throw new ValidationError([...issues, ...retired]);
    if (retired.length > 0) throw new ConflictError('template_retired', retired.map((r) => `${r.path}: ${r.message}`).join('; '), retired);
    // Only now, with the whole submit valid: a template is never marked used by a refused submit.
    for (const [id, i] of firstUse) {
      if (!(await this.store.markUsed(tenant, id, now))) {
        throw new ValidationError([{ path: `${base(i)}/templateId`, message: `template "${id}" was deleted while this submit was under way` }]);
      }
    }
    return { inputs: out, origins };
  }

  private async resolve(
    input: Record<string, unknown>,
    tenant: string,
    base: string,
    lookups: Lookups,
  ): Promise<{ template: Template; version: number; defaults: TemplateDefaults } | { issue: Issue; retired?: boolean }> {
    const { templateId: id, templateVersion: v } = input;
    if (id === undefined) return { issue: { path: `${base}/templateVersion`, message: 'give templateId with templateVersion' } };
    if (typeof id !== 'string' || !NAME.test(id)) return { issue: { path: `${base}/templateId`, message: `${JSON.stringify(id)?.slice(0, 80)} is not a template name` } };
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      return { issue: { path: `${base}/templateVersion`, message: `must be a whole number from 1 (got ${JSON.stringify(v)?.slice(0, 80)})` } };
    }
    // A batch of a thousand jobs from one template reads it once.
    if (!lookups.templates.has(id)) lookups.templates.set(id, this.store.get(tenant, id));
    const template = await lookups.templates.get(id)!;
    if (!template) return { issue: { path: `${base}/templateId`, message: `no template "${id}" in tenant ${tenant}; create it with POST /v1/templates` } };
    if (template.retiredAt !== null) {
      return { retired: true, issue: { path: `${base}/templateId`, message: `template "${id}" is retired: it takes no new jobs (it stays readable)` } };
    }
    const version = v ?? template.latestVersion;
    if (version > template.latestVersion) {
      return { issue: { path: `${base}/templateVersion`, message: `template "${id}" has versions 1 to ${template.latestVersion} (got ${version})` } };
    }
    if (version === template.latestVersion) return { template, version, defaults: template.latest.defaults };
    const key = `${id}@${version}`;
    if (!lookups.versions.has(key)) lookups.versions.set(key, this.store.getVersion(tenant, id, version));
    const old = await lookups.versions.get(key)!;
    if (!old) return { issue: { path: `${base}/templateVersion`, message: `template "${id}" has no version ${version}` } };
    return { template, version, defaults: old.defaults };
  }

  /** Checks a create (`withId`) or new-version body; names bad fields by their path. */
  private checkBody(body: unknown, withId: boolean, now: number): { id?: string; description: string | null; defaults: TemplateDefaults } {
    if (!isObject(body)) throw new ValidationError([{ path: '', message: `a template must be a JSON object: {${withId ? '"id", ' : ''}"defaults", "description"}` }]);
    const issues: Issue[] = [];
    for (const key of Object.keys(body)) if (!['defaults', 'description', ...(withId ? ['id'] : [])].includes(key)) issues.push({ path: `/${key}`, message: 'unknown field' });
    if (withId && (typeof body.id !== 'string' || !NAME.test(body.id))) {
      issues.push({ path: '/id', message: body.id === undefined ? 'required' : `${JSON.stringify(body.id)?.slice(0, 80)} is not a valid name (letters, digits and _ . : -, up to 128)` });
    }
    const d = body.description;
    if (d !== undefined && (typeof d !== 'string' || d.length > MAX_DESCRIPTION)) issues.push({ path: '/description', message: `must be text of at most ${MAX_DESCRIPTION} characters` });
    if (body.defaults === undefined) issues.push({ path: '/defaults', message: 'required' });
    if (issues.length > 0) throw new ValidationError(issues);
    const defaults = checkDefaults(body.defaults, now, this.limits);
    return { ...(withId ? { id: body.id as string } : {}), description: (d as string | undefined) ?? null, defaults };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
