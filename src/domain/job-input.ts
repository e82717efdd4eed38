import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { FormatRegistry } from '@sinclair/typebox';
import { DEFAULT_BACKOFF, type Backoff } from './backoff.js';
import { PayloadTooLargeError, ValidationError, type Issue } from './errors.js';
import type { Json } from './job.js';
import { DependencyFields } from './dag.js';

/**
 * What a client sends to submit a job. Declared once: the HTTP layer uses it for request
 * validation and the OpenAPI document, the service validates SDK and CLI input with it.
 */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';

/** TypeBox's wording for a failed pattern, "Expected string to match '^...$'": for a schema whose only pattern is NAME_PATTERN. */
export const isPatternMismatch = (message: string): boolean => message.startsWith("Expected string to match '");

/** What a name that fails NAME_PATTERN is told, instead of the pattern itself. */
export const notAValidName = (value: unknown): string => `"${String(value)}" is not a valid name (letters, digits and _ . : -, up to 128, starting with a letter or digit)`;

const Name = (description: string) => Type.String({ pattern: NAME_PATTERN, description });
const Millis = (description: string, max: number) => Type.Integer({ minimum: 0, maximum: max, description });
const DAY = 86_400_000;
/** Most steps in a multi-step job. */
export const MAX_STEPS = 50;
/** The payload key that holds a multi-step job's steps (src/sdk/steps.ts runs them). */
export const STEPS_KEY = '$steps';
/** Longest callbackUrl (the same limit as a webhook subscription's url). */
export const MAX_CALLBACK_URL = 2048;

export const BackoffSchema = Type.Union(
  [
    Type.Object(
      {
        type: Type.Literal('exponential'),
        delayMs: Millis('first retry delay', DAY),
        maxDelayMs: Type.Optional(Millis('cap on the delay', 30 * DAY)),
        jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('fixed'),
        delayMs: Millis('delay between attempts', 30 * DAY),
        jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        type: Type.Literal('custom'),
        delaysMs: Type.Array(Millis('delay before retry n', 30 * DAY), { minItems: 1, maxItems: 100 }),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'retry backoff; default exponential from 1 s, capped at 1 h, 20% jitter' },
);

export const JobInputSchema = Type.Object(
  {
    type: Name('job type: selects the handler'),
    queue: Type.Optional(Name('queue name; default "default"')),
    payload: Type.Optional(Type.Unknown({ description: 'any JSON value; default {}' })),
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: '1 (highest) to 10 (lowest); default 5' })),
    labels: Type.Optional(
      Type.Record(Type.String({ pattern: NAME_PATTERN }), Type.String({ maxLength: 256 }), {
        maxProperties: 32,
        // Without it a Record only types the keys that match the pattern and lets others through.
        additionalProperties: false,
        description: 'string labels for filtering',
      }),
    ),
    runAt: Type.Optional(Type.String({ format: 'date-time', description: 'do not start before this time' })),
    delayMs: Type.Optional(Millis('start no sooner than this many ms from now', 365 * DAY)),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'expire the job if not started by then' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * DAY, description: 'per-attempt time limit' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 3' })),
    backoff: Type.Optional(BackoffSchema),
    linkId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'correlation id; generated if absent' })),
    dedupKey: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'while a job of this type holds this key, a submit returns it instead of creating one (docs/jobs.md#deduplication)' })),
    dedupTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_592_000, description: 'with dedupKey: how long the key is held; default the rule\'s for the type, else 86400' })),
    callbackUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_CALLBACK_URL,
        description: 'http(s) URL that gets the job\'s end (succeeded, failed, cancelled, expired) as a signed webhook, subscribed with the job in one transaction (docs/webhooks.md#job-callbacks)',
      }),
    ),
    steps: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: Name('step type: selects the handler that runs the step'),
            payload: Type.Optional(Type.Unknown({ description: 'the step\'s input; default {}' })),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: MAX_STEPS,
          description: 'a multi-step job: run in order by the handlers of their types, in one claim; a retry resumes at the failed step (docs/jobs.md#multi-step-jobs). type defaults to the first step\'s; not with payload',
        },
      ),
    ),
    ...DependencyFields,
  },
  { additionalProperties: false },
);

export type JobInput = Static<typeof JobInputSchema>;

/** Limits, resolved once from configuration. */
export interface InputLimits {
  /** Largest payload, as JSON text in bytes. @defaultValue 1 MiB */
  maxPayloadBytes: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxPayloadBytes: 1024 * 1024 };

/** A validated job input with every default applied. Times are epoch ms. */
export interface JobSpec {
  type: string;
  queue: string;
  payload: Json;
  payloadJson: string;
  priority: number;
  labels: Record<string, string>;
  runAt: number;
  expiresAt: number | null;
  timeoutMs: number | null;
  maxAttempts: number;
  backoff: Backoff;
  linkId: string | null;
  /** The job's own dedup key and its window (domain/dedup.ts); null when not given. */
  dedupKey: string | null;
  dedupTtlSeconds: number | null;
  /** Where the job's end is posted (a job-scoped webhook subscription made at insert); null for none. */
  callbackUrl: string | null;
}

export const DEFAULT_PRIORITY = 5;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_QUEUE = 'default';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)));
const check = TypeCompiler.Compile(JobInputSchema);

/**
 * Validates one job input and applies defaults. Throws ValidationError naming every bad field
 * (paths are prefixed with `basePath`, e.g. `/jobs/3`), or PayloadTooLargeError.
 */
export function toJobSpec(input: unknown, now: number, limits: InputLimits = DEFAULT_INPUT_LIMITS, basePath = ''): JobSpec {
  const issues: Issue[] = [];
  // A multi-step job takes its type from its first step unless given.
  if (isRecord(input) && input.type === undefined && Array.isArray(input.steps) && isRecord(input.steps[0]) && typeof input.steps[0].type === 'string') {
    input = { ...input, type: input.steps[0].type };
  }
  if (!check.Check(input)) {
    for (const e of check.Errors(input)) issues.push({ path: basePath + e.path, message: explain(e.message, e.path, e.value) });
    throw new ValidationError(dedupe(issues));
  }
  const runAt = input.runAt !== undefined ? parseTime(input.runAt) : now + (input.delayMs ?? 0);
  if (input.runAt !== undefined && input.delayMs !== undefined) {
    issues.push({ path: `${basePath}/delayMs`, message: 'give runAt or delayMs, not both' });
  }
  const expiresAt = input.expiresAt !== undefined ? parseTime(input.expiresAt) : null;
  if (input.dedupTtlSeconds !== undefined && input.dedupKey === undefined) {
    issues.push({ path: `${basePath}/dedupTtlSeconds`, message: 'give dedupKey with it (a rule\'s key has the rule\'s ttlSeconds)' });
  }
  const callbackUrl = input.callbackUrl !== undefined ? checkCallbackUrl(input.callbackUrl, `${basePath}/callbackUrl`, issues) : null;
  if (expiresAt !== null && expiresAt <= runAt) {
    issues.push({ path: `${basePath}/expiresAt`, message: 'must be later than the time the job may start (runAt or now)' });
  }
  if (input.steps !== undefined && input.payload !== undefined) {
    issues.push({ path: `${basePath}/payload`, message: 'give each step its payload (steps[i].payload), not the job' });
  }
  if (input.steps === undefined && isRecord(input.payload) && STEPS_KEY in input.payload) {
    issues.push({ path: `${basePath}/payload/${STEPS_KEY}`, message: 'reserved for multi-step jobs: give steps instead' });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  const payload = (
    input.steps !== undefined
      ? { [STEPS_KEY]: input.steps.map((s) => ({ type: s.type, payload: s.payload === undefined ? {} : s.payload })) }
      : input.payload === undefined ? {} : input.payload
  ) as Json;
  const payloadJson = JSON.stringify(payload);
  if (payloadJson === undefined) throw new ValidationError([{ path: `${basePath}/payload`, message: 'must be a JSON value' }]);
  const size = Buffer.byteLength(payloadJson);
  if (size > limits.maxPayloadBytes) throw new PayloadTooLargeError(`${basePath}/payload`, size, limits.maxPayloadBytes);
  return {
    type: input.type,
    queue: input.queue ?? DEFAULT_QUEUE,
    payload,
    payloadJson,
    priority: input.priority ?? DEFAULT_PRIORITY,
    labels: input.labels ?? {},
    runAt,
    expiresAt,
    timeoutMs: input.timeoutMs ?? null,
    maxAttempts: input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoff: input.backoff ?? DEFAULT_BACKOFF,
    linkId: input.linkId ?? null,
    dedupKey: input.dedupKey ?? null,
    dedupTtlSeconds: input.dedupTtlSeconds ?? null,
    callbackUrl,
  };
}

/**
 * An absolute http(s) URL without credentials, at most MAX_CALLBACK_URL characters (the rules of
 * a webhook subscription's url); returns it normalized (WHATWG URL serialization).
 */
function checkCallbackUrl(raw: string, path: string, issues: Issue[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    issues.push({ path, message: `"${raw.slice(0, 100)}" is not an absolute URL, e.g. https://example.com/hooks/docket` });
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') issues.push({ path, message: `must be an http or https URL (got ${url.protocol.slice(0, 20)})` });
  else if (url.username || url.password) issues.push({ path, message: 'must not carry credentials (user:password@): verify callbacks by their signature instead' });
  else if (url.href.length > MAX_CALLBACK_URL) issues.push({ path, message: `at most ${MAX_CALLBACK_URL} characters` });
  else return url.href;
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A time the schema's `date-time` format (registered above) has already accepted: Date.parse reads it. */
const parseTime = (value: string): number => Date.parse(value);

function explain(message: string, path: string, value: unknown): string {
  if (path === '' && (typeof value !== 'object' || value === null || Array.isArray(value))) return 'a job must be a JSON object';
  if (message.startsWith('Unexpected property')) return 'unknown field';
  // The HTTP body schema lets `type` out (a template may supply it): the service says it is missing.
  if (message === 'Expected required property') return path === '/type' ? 'required (or give templateId)' : 'required';
  if (message.includes("'date-time' format")) return `"${String(value)}" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z`;
  if (isPatternMismatch(message)) return notAValidName(value);
  return `${message}${value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80)})`}`;
}

function dedupe(issues: Issue[]): Issue[] {
  // A bad union member (backoff) reports once per variant; keep the first message per path.
  const seen = new Set<string>();
  return issues.filter((i) => (seen.has(i.path) ? false : (seen.add(i.path), true)));
}
