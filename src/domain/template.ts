import { Type, type Static } from '@sinclair/typebox';
import { ValidationError, type Issue } from './errors.js';
import { JobInputSchema, NAME_PATTERN, toJobSpec, type InputLimits } from './job-input.js';

/**
 * Job templates: named, versioned job defaults a tenant keeps on the server (docs/templates.md).
 * A submit names a template (`templateId`, optionally `templateVersion`) and gives what differs;
 * the merge below turns the two into an ordinary job input, validated like any other.
 */

const P = JobInputSchema.properties;
const DAY = 86_400_000;

/**
 * What a template version holds: the job fields that make sense for many jobs. Left out on
 * purpose: `runAt` and `expiresAt` (absolute times, stale as soon as the template is saved; the
 * template has `delayMs` and `expiresInMs` instead) and `linkId` (correlates one request).
 */
export const TemplateDefaultsSchema = Type.Object(
  {
    type: P.type,
    queue: P.queue,
    payload: P.payload,
    priority: P.priority,
    labels: P.labels,
    delayMs: P.delayMs,
    timeoutMs: P.timeoutMs,
    maxAttempts: P.maxAttempts,
    backoff: P.backoff,
    expiresInMs: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 365 * DAY, description: 'the job expires if it has not started this long after it became due' }),
    ),
  },
  { additionalProperties: false, description: 'job defaults; a submit overrides any of them' },
);
export type TemplateDefaults = Static<typeof TemplateDefaultsSchema>;

const TemplateId = Type.String({ pattern: NAME_PATTERN, description: 'template name, unique per tenant' });
const Description = Type.String({ maxLength: 1000, description: 'what the template is for; shown in listings' });

/** POST /v1/templates: version 1 of a new template. */
export const CreateTemplateSchema = Type.Object(
  { id: TemplateId, description: Type.Optional(Description), defaults: TemplateDefaultsSchema },
  { additionalProperties: false },
);
export type CreateTemplateInput = Static<typeof CreateTemplateSchema>;

/** POST /v1/templates/:id/versions: the next version (versions never change once created). */
export const TemplateVersionSchema = Type.Object({ description: Type.Optional(Description), defaults: TemplateDefaultsSchema }, { additionalProperties: false });
export type TemplateVersionInput = Static<typeof TemplateVersionSchema>;

/**
 * What a client sends to submit one job: a job input, or a template reference plus what differs
 * from the template. `type` is required unless `templateId` is given (the service checks that).
 */
export const SubmitInputSchema = Type.Object(
  {
    ...P,
    type: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'job type: selects the handler; required unless templateId is given' })),
    templateId: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'submit from this template: its defaults, then the fields given here (docs/templates.md)' })),
    templateVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'with templateId: this version; default the latest' })),
  },
  { additionalProperties: false },
);
export type SubmitInput = Static<typeof SubmitInputSchema>;

/** Where a job came from. */
export interface TemplateOrigin {
  id: string;
  version: number;
}

/**
 * The job input a template reference stands for. The rule (docs/templates.md):
 * - every field the job gives replaces the template's, except:
 * - `labels`: the template's and the job's together, the job's value winning per label;
 * - `payload`: the job's payload is applied to the template's as a JSON Merge Patch (RFC 7396):
 *   objects merge key by key, recursively; a `null` removes the key; anything else (arrays,
 *   strings, numbers) replaces;
 * - the start time: the job's `runAt` or `delayMs`, else the template's `delayMs`;
 * - `expiresInMs` (template only) becomes `expiresAt` = start time + expiresInMs, unless the job
 *   gives `expiresAt`.
 * Nothing is validated here: toJobSpec checks the result, under the job's own field names.
 */
export function applyTemplate(defaults: TemplateDefaults, input: Record<string, unknown>, now: number): Record<string, unknown> {
  const { templateId: _id, templateVersion: _version, ...job } = input;
  const { expiresInMs, labels, payload, delayMs, ...rest } = defaults;
  const merged: Record<string, unknown> = { ...rest, ...job };
  if (delayMs !== undefined && job.runAt === undefined && job.delayMs === undefined) merged.delayMs = delayMs;
  if (labels !== undefined) merged.labels = isObject(job.labels) ? { ...labels, ...job.labels } : (job.labels ?? labels);
  if (job.payload !== undefined) merged.payload = mergePatch(payload, job.payload);
  else if (payload !== undefined) merged.payload = payload;
  if (expiresInMs !== undefined && job.expiresAt === undefined) {
    const start = typeof merged.runAt === 'string' ? Date.parse(merged.runAt) : now + (typeof merged.delayMs === 'number' ? merged.delayMs : 0);
    // An unreadable runAt is left for validation to name; the expiry would only add noise.
    if (Number.isFinite(start)) merged.expiresAt = new Date(start + expiresInMs).toISOString();
  }
  return merged;
}

/** RFC 7396 JSON Merge Patch of `patch` onto `target`; neither is modified. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  if (isObject(target)) for (const [k, v] of Object.entries(target)) define(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else define(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

/**
 * Validates a template version's defaults: the fields a template may hold, and that they make a
 * valid job on their own (the same rules and limits as a submitted job). Issues are named under
 * `basePath` (`/defaults/priority`).
 */
export function checkDefaults(input: unknown, now: number, limits: InputLimits, basePath = '/defaults'): TemplateDefaults {
  if (!isObject(input)) throw new ValidationError([{ path: basePath, message: 'must be an object of job defaults, e.g. {"type":"email.send"}' }]);
  const issues: Issue[] = [];
  for (const key of Object.keys(input)) {
    if (key in TemplateDefaultsSchema.properties) continue;
    const hint = PER_JOB[key];
    issues.push({ path: `${basePath}/${key}`, message: hint ? `not part of a template: ${hint}` : 'unknown field' });
  }
  const e = input.expiresInMs;
  if (e !== undefined && (typeof e !== 'number' || !Number.isInteger(e) || e < 1 || e > 365 * DAY)) {
    issues.push({ path: `${basePath}/expiresInMs`, message: `must be a whole number from 1 to ${365 * DAY} (got ${JSON.stringify(e)?.slice(0, 80)})` });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const { expiresInMs: _e, ...job } = input;
  // The same checks as a submitted job (type, names, ranges, payload size), named under basePath.
  toJobSpec(job, now, limits, basePath);
  return input as TemplateDefaults;
}

/** Job fields a template does not hold, and what to do instead. */
const PER_JOB: Record<string, string> = {
  callbackUrl: 'one job\'s callback; give it when submitting',
  runAt: 'an absolute time; use delayMs in the template, or give runAt when submitting',
  expiresAt: 'an absolute time; use expiresInMs in the template, or give expiresAt when submitting',
  linkId: 'it correlates one request; give it when submitting',
  templateId: 'a template cannot refer to another template',
  templateVersion: 'a template cannot refer to another template',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own property, so a key named `__proto__` stays data and never touches the prototype. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
