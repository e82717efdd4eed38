import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { CronPlan } from './cron.js';
import { ValidationError, type Issue } from './errors.js';
import { DEFAULT_INPUT_LIMITS, JobInputSchema, NAME_PATTERN, toJobSpec, type InputLimits, type JobInput } from './job-input.js';

/**
 * Cron schedules: a name, a cron expression in an IANA time zone, and the job to submit at each
 * fire time. See docs/schedules.md.
 */

export const OVERLAP_POLICIES = ['skip', 'allow', 'cancel-previous'] as const;
/** When the job of the previous fire has not finished: skip this fire, fire anyway, or cancel it and fire. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const CATCH_UP_POLICIES = ['none', 'latest', 'all'] as const;
/** Fires missed while no scheduler ran: drop them, fire the latest once, or fire each (up to catchUpLimit). */
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

export const DEFAULT_TIMEZONE = 'UTC';
export const DEFAULT_OVERLAP: OverlapPolicy = 'skip';
export const DEFAULT_CATCH_UP: CatchUpPolicy = 'latest';
export const DEFAULT_CATCH_UP_LIMIT = 10;
export const MAX_CATCH_UP_LIMIT = 1000;

/** Labels every job of a schedule carries, so `docket list --label docket.schedule=<id>` finds them. */
export const SCHEDULE_LABEL = 'docket.schedule';
export const FIRE_LABEL = 'docket.fireAt';
/** Room left for the two labels above within a job's 32. */
const MAX_TEMPLATE_LABELS = 30;

/** A schedule as stored: its settings (ScheduleSpec without the compiled plan) and its state. Times are epoch ms. */
export interface ScheduleRecord extends Omit<ScheduleSpec, 'plan'> {
  id: string;
  tenant: string;
  /** The earliest fire not yet handled; null when the schedule has no fire left (past endAt). */
  nextFireAt: number | null;
  /** The latest fire that submitted a job, and that job. */
  lastFireAt: number | null;
  lastJobId: string | null;
  createdAt: number;
  updatedAt: number;
}

const Iso = (description: string) => Type.String({ format: 'date-time', description });

const FIELDS = {
  name: Type.String({ pattern: NAME_PATTERN, description: 'unique within the tenant' }),
  cron: Type.String({ minLength: 1, maxLength: 256, description: '5 fields, 6 with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly' }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/Berlin; default UTC' }),
  job: Type.Object(JobInputSchema.properties, {
    additionalProperties: false,
    description: 'the job submitted at each fire: the fields of POST /v1/jobs, without runAt and expiresAt (delayMs is allowed)',
  }),
  overlap: Type.Union([Type.Literal('skip'), Type.Literal('allow'), Type.Literal('cancel-previous')], {
    description: "when the previous fire's job has not finished: skip (default), allow, cancel-previous",
  }),
  catchUp: Type.Union([Type.Literal('none'), Type.Literal('latest'), Type.Literal('all')], {
    description: 'fires missed while no scheduler ran: none, latest (default: one fire), all (up to catchUpLimit)',
  }),
  catchUpLimit: Type.Integer({ minimum: 1, maximum: MAX_CATCH_UP_LIMIT, description: 'most missed fires replayed by catchUp all; default 10' }),
  paused: Type.Boolean({ description: 'a paused schedule does not fire; default false' }),
};

export const ScheduleInputSchema = Type.Object(
  {
    name: FIELDS.name,
    cron: FIELDS.cron,
    timezone: Type.Optional(FIELDS.timezone),
    job: FIELDS.job,
    overlap: Type.Optional(FIELDS.overlap),
    catchUp: Type.Optional(FIELDS.catchUp),
    catchUpLimit: Type.Optional(FIELDS.catchUpLimit),
    paused: Type.Optional(FIELDS.paused),
    startAt: Type.Optional(Iso('no fire before this time')),
    endAt: Type.Optional(Iso('no fire after this time')),
  },
  { additionalProperties: false },
);
export type ScheduleInput = Static<typeof ScheduleInputSchema>;

const nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
/** A change: the fields given replace the schedule's; null clears startAt or endAt. */
export const SchedulePatchSchema = Type.Object(
  {
    name: Type.Optional(FIELDS.name),
    cron: Type.Optional(FIELDS.cron),
    timezone: Type.Optional(FIELDS.timezone),
    job: Type.Optional(FIELDS.job),
    overlap: Type.Optional(FIELDS.overlap),
    catchUp: Type.Optional(FIELDS.catchUp),
    catchUpLimit: Type.Optional(FIELDS.catchUpLimit),
    paused: Type.Optional(FIELDS.paused),
    startAt: Type.Optional(nullable(Iso('no fire before this time; null clears'))),
    endAt: Type.Optional(nullable(Iso('no fire after this time; null clears'))),
  },
  { additionalProperties: false },
);
export type SchedulePatch = Static<typeof SchedulePatchSchema>;

export const PreviewInputSchema = Type.Object(
  {
    cron: FIELDS.cron,
    timezone: Type.Optional(FIELDS.timezone),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'how many fire times; default 10' })),
    from: Type.Optional(Iso('list fires after this time; default now')),
    startAt: Type.Optional(Iso('no fire before this time')),
    endAt: Type.Optional(Iso('no fire after this time')),
  },
  { additionalProperties: false },
);
export type PreviewInput = Static<typeof PreviewInputSchema>;

/** The timing and policy of a schedule, validated, with defaults applied. */
export interface ScheduleSpec {
  name: string;
  cron: string;
  timezone: string;
  /** The job input submitted at each fire, as the client sent it (validated). */
  job: JobInput;
  overlap: OverlapPolicy;
  catchUp: CatchUpPolicy;
  catchUpLimit: number;
  paused: boolean;
  startAt: number | null;
  endAt: number | null;
  plan: CronPlan;
}

const checkInput = TypeCompiler.Compile(ScheduleInputSchema);
const checkPatch = TypeCompiler.Compile(SchedulePatchSchema);
const checkPreview = TypeCompiler.Compile(PreviewInputSchema);

/**
 * Validates a new schedule and applies defaults; throws ValidationError naming every bad field
 * (`/cron`, `/timezone`, `/job/priority`...). The job is checked with the job-input rules.
 */
export function toScheduleSpec(input: unknown, now: number, limits: InputLimits = DEFAULT_INPUT_LIMITS): ScheduleSpec {
  if (!checkInput.Check(input)) throw new ValidationError(shapeIssues(checkInput.Errors(input), input));
  return specOf(input, now, limits);
}

/** Applies a change to a stored schedule and validates the result as a whole. */
export function patchedSpec(current: ScheduleRecord, patch: unknown, now: number, limits: InputLimits = DEFAULT_INPUT_LIMITS): ScheduleSpec {
  if (!checkPatch.Check(patch)) throw new ValidationError(shapeIssues(checkPatch.Errors(patch), patch));
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  const merged = {
    name: patch.name ?? current.name,
    cron: patch.cron ?? current.cron,
    timezone: patch.timezone ?? current.timezone,
    job: patch.job ?? current.job,
    overlap: patch.overlap ?? current.overlap,
    catchUp: patch.catchUp ?? current.catchUp,
    catchUpLimit: patch.catchUpLimit ?? current.catchUpLimit,
    paused: patch.paused ?? current.paused,
    startAt: patch.startAt === null ? undefined : (patch.startAt ?? iso(current.startAt)),
    endAt: patch.endAt === null ? undefined : (patch.endAt ?? iso(current.endAt)),
  };
  return specOf(merged, now, limits);
}

/** Validates a preview request: the plan, how many fires, and from when. */
export function toPreview(input: unknown, now: number): { plan: CronPlan; count: number; from: number } {
  if (!checkPreview.Check(input)) throw new ValidationError(shapeIssues(checkPreview.Errors(input), input));
  const issues: Issue[] = [];
  const startAt = input.startAt === undefined ? null : parseTime(input.startAt);
  const endAt = input.endAt === undefined ? null : parseTime(input.endAt);
  const from = input.from === undefined ? now : parseTime(input.from);
  checkBounds(startAt, endAt, issues);
  const plan = planOf(input.cron, input.timezone ?? DEFAULT_TIMEZONE, { startAt, endAt }, issues);
  if (issues.length > 0 || !plan) throw new ValidationError(issues);
  return { plan, count: input.count ?? 10, from };
}

function specOf(input: ScheduleInput, now: number, limits: InputLimits): ScheduleSpec {
  const issues: Issue[] = [];
  const startAt = input.startAt === undefined ? null : parseTime(input.startAt);
  const endAt = input.endAt === undefined ? null : parseTime(input.endAt);
  checkBounds(startAt, endAt, issues);
  const timezone = input.timezone ?? DEFAULT_TIMEZONE;
  const plan = planOf(input.cron, timezone, { startAt, endAt }, issues);
  issues.push(...jobIssues(input.job, now, limits));
  if (issues.length > 0 || !plan) throw new ValidationError(issues);
  return {
    name: input.name,
    cron: input.cron.trim(),
    timezone,
    job: input.job,
    overlap: input.overlap ?? DEFAULT_OVERLAP,
    catchUp: input.catchUp ?? DEFAULT_CATCH_UP,
    catchUpLimit: input.catchUpLimit ?? DEFAULT_CATCH_UP_LIMIT,
    paused: input.paused ?? false,
    startAt,
    endAt,
    plan,
  };
}

/** The job template: the job-input rules, and no absolute times (every fire has its own). */
function jobIssues(job: JobInput, now: number, limits: InputLimits): Issue[] {
  const issues: Issue[] = [];
  if (job.runAt !== undefined) issues.push({ path: '/job/runAt', message: 'a scheduled job starts at its fire time; use delayMs to start later' });
  if (job.expiresAt !== undefined) issues.push({ path: '/job/expiresAt', message: 'an absolute expiry would expire every later fire; leave it out' });
  if (job.dependsOn !== undefined) issues.push({ path: '/job/dependsOn', message: 'a scheduled job cannot wait for other jobs: every fire makes a new job' });
  if (job.ref !== undefined) issues.push({ path: '/job/ref', message: 'refs name jobs of one bulk request; a schedule submits one job per fire' });
  if (Object.keys(job.labels ?? {}).length > MAX_TEMPLATE_LABELS) {
    issues.push({ path: '/job/labels', message: `at most ${MAX_TEMPLATE_LABELS} labels: every job of a schedule also gets ${SCHEDULE_LABEL} and ${FIRE_LABEL}` });
  }
  if (issues.length > 0) return issues;
  try {
    toJobSpec(job, now, limits, '/job'); // PayloadTooLargeError (413) passes through
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  return [];
}

function planOf(cron: string, timezone: string, bounds: { startAt: number | null; endAt: number | null }, issues: Issue[]): CronPlan | null {
  try {
    return CronPlan.parse(cron, timezone, bounds);
  } catch (err) {
    if (err instanceof ValidationError) {
      issues.push(...err.issues);
      return null;
    }
    throw err;
  }
}

function checkBounds(startAt: number | null, endAt: number | null, issues: Issue[]): void {
  if (startAt !== null && endAt !== null && endAt <= startAt) issues.push({ path: '/endAt', message: 'must be later than startAt' });
}

/** A time the schema's `date-time` format has already accepted (job-input.ts registers it): Date.parse reads it. */
const parseTime = (value: string): number => Date.parse(value);

/** TypeBox errors as one issue per field, with messages a person can act on. */
function shapeIssues(errors: Iterable<{ path: string; message: string; value: unknown; schema: unknown }>, input: unknown): Issue[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [{ path: '', message: 'must be a JSON object' }];
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const e of errors) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    const variants = (e.schema as { anyOf?: { const?: unknown }[] }).anyOf;
    let message: string;
    if (variants && variants.length > 0 && variants.every((v) => v.const !== undefined)) message = `must be one of ${variants.map((v) => JSON.stringify(v.const)).join(', ')}`;
    else if (e.message.startsWith('Unexpected property')) message = 'unknown field';
    else if (e.message.startsWith('Expected required property')) message = 'required';
    else if (e.message.includes("'date-time' format")) message = `"${String(e.value)}" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z`;
    else message = `${e.message}${e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)?.slice(0, 80)})`}`;
    out.push({ path: e.path, message });
  }
  return out;
}
