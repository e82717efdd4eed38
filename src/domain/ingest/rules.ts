import { Type, type Static } from '@sinclair/typebox';
import { ValidationError, type Issue } from '../errors.js';
import { JobInputSchema } from '../job-input.js';
import type { Json } from '../job.js';
import { parsePath, pathProblem, show, type FieldPath } from './field-path.js';

/**
 * The `ingest` section of the configuration file (seed 000's job scheduler): which topics to
 * consume, and the rules that turn an event into jobs. The shape is checked by TypeBox with the rest
 * of the file; what TypeBox cannot say well (match conditions, payload mappings, field paths) is
 * checked by `compileIngest`, which names the entry by its path in the file. docs/ingestion.md
 * has a complete example.
 */

const TOPIC = '^[A-Za-z0-9._-]{1,249}$';
const YEAR_SECONDS = 31_536_000;
const job = JobInputSchema.properties;

const JobRuleSchema = Type.Object(
  {
    type: job.type,
    queue: job.queue,
    priority: job.priority,
    labels: job.labels,
    timeoutMs: job.timeoutMs,
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    expiresInSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: YEAR_SECONDS, description: 'the job expires if not started this long after it is due' })),
    delaySeconds: Type.Optional(Type.Number({ minimum: 0, maximum: YEAR_SECONDS, description: 'due this long after the event is taken in' })),
    runAtFrom: Type.Optional(Type.String({ description: 'field path of an RFC 3339 time the job is due at, e.g. data.deliverAt' })),
    dedup: Type.Optional(Type.Array(Type.String(), { minItems: 1, maxItems: 16, description: 'field paths whose values form the dedup key; default the event id' })),
    payload: Type.Optional(Type.Unknown({ description: 'a field path (default "data"), or an object mapping payload fields to field paths' })),
  },
  { additionalProperties: false },
);

const RuleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$', description: 'unique; part of the dedup key' }),
    match: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'field path -> condition; all must hold; none: every event' })),
    jobs: Type.Array(JobRuleSchema, { maxItems: 100, description: 'the jobs a matching event creates; empty: the event is taken and creates nothing' }),
  },
  { additionalProperties: false },
);

export const IngestSchema = Type.Object(
  {
    topics: Type.Optional(Type.Array(Type.String({ pattern: TOPIC }), { maxItems: 100, description: 'Kafka topics to consume, as named (no prefix); none: HTTP only' })),
    groupId: Type.Optional(Type.String({ minLength: 1, maxLength: 249, description: 'consumer group; default docket-ingest' })),
    deadLetterTopic: Type.Optional(Type.String({ pattern: TOPIC, description: 'gets DOCKET_KAFKA_TOPIC_PREFIX; default ingest-dead-letters' })),
    rules: Type.Array(RuleSchema, { maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type IngestFile = Static<typeof IngestSchema>;

export const DEFAULT_GROUP_ID = 'docket-ingest';
export const DEFAULT_DEAD_LETTER_TOPIC = 'ingest-dead-letters';

export type Condition =
  | { op: 'equals'; value: Json }
  | { op: 'oneOf'; values: Json[] }
  | { op: 'exists'; exists: boolean }
  | { op: 'regex'; regex: RegExp };

export interface MatchClause {
  path: FieldPath;
  condition: Condition;
}

/** How a payload is built: the value at a path, or an object of such mappings. */
export type PayloadMap = { kind: 'path'; path: FieldPath; optional: boolean } | { kind: 'object'; fields: [string, PayloadMap][] };

/** One job a rule creates (the enricher's part). */
export interface JobRule {
  index: number;
  /** Static job fields: type, queue, priority, labels, timeoutMs, maxAttempts, backoff. */
  fixed: Record<string, Json>;
  expiresInSeconds: number | null;
  delaySeconds: number | null;
  runAtFrom: FieldPath | null;
  /** null: the event's source and id. */
  dedup: FieldPath[] | null;
  payload: PayloadMap;
}

export interface Rule {
  name: string;
  index: number;
  match: MatchClause[];
  jobs: JobRule[];
}

export interface IngestConfig {
  /** Input topics, as named; empty: events come over HTTP only. */
  topics: string[];
  groupId: string;
  /** Before DOCKET_KAFKA_TOPIC_PREFIX. */
  deadLetterTopic: string;
  rules: Rule[];
}

const OPS = ['equals', 'oneOf', 'exists', 'regex'] as const;

/**
 * Checks what the schema could not and compiles the rules. Throws ValidationError with every
 * problem found, each at its path in the file (`/ingest/rules/2/jobs/0/payload/orderId`).
 */
export function compileIngest(file: IngestFile, base = '/ingest'): IngestConfig {
  const issues: Issue[] = [];
  const names = new Map<string, number>();
  const rules = file.rules.map((r, i): Rule => {
    const at = `${base}/rules/${i}`;
    const earlier = names.get(r.name);
    if (earlier !== undefined) issues.push({ path: `${at}/name`, message: `"${r.name}" is already the name of rules[${earlier}]; names must be unique (they are part of the dedup key)` });
    names.set(r.name, i);
    const match = Object.entries(r.match ?? {}).flatMap(([key, value]) => {
      const clause = compileClause(key, value, `${at}/match/${escape(key)}`, issues);
      return clause ? [clause] : [];
    });
    const jobs = r.jobs.map((j, k) => compileJob(j, k, `${at}/jobs/${k}`, issues));
    return { name: r.name, index: i, match, jobs };
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    topics: [...new Set(file.topics ?? [])],
    groupId: file.groupId ?? DEFAULT_GROUP_ID,
    deadLetterTopic: file.deadLetterTopic ?? DEFAULT_DEAD_LETTER_TOPIC,
    rules,
  };
}

function compileClause(key: string, value: unknown, at: string, issues: Issue[]): MatchClause | null {
  const path = checkedPath(key, at, issues);
  const condition = compileCondition(value, at, issues);
  return path && condition ? { path, condition } : null;
}

function compileCondition(value: unknown, at: string, issues: Issue[]): Condition | null {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { op: 'equals', value };
  const keys = typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  if (keys.length !== 1 || !(OPS as readonly string[]).includes(keys[0]!)) {
    const hint = Array.isArray(value) ? ' (to accept several values write {"oneOf": [...]})' : '';
    issues.push({ path: at, message: `must be a value to equal, or an object with one of ${OPS.join(', ')} (got ${show(value)})${hint}` });
    return null;
  }
  const op = keys[0] as (typeof OPS)[number];
  const arg = (value as Record<string, unknown>)[op];
  switch (op) {
    case 'equals':
      return { op, value: arg as Json };
    case 'oneOf':
      if (Array.isArray(arg) && arg.length > 0) return { op, values: arg as Json[] };
      issues.push({ path: `${at}/oneOf`, message: `must be a non-empty array of values (got ${show(arg)})` });
      return null;
    case 'exists':
      if (typeof arg === 'boolean') return { op, exists: arg };
      issues.push({ path: `${at}/exists`, message: `must be true or false (got ${show(arg)})` });
      return null;
    case 'regex':
      if (typeof arg !== 'string') {
        issues.push({ path: `${at}/regex`, message: `must be a regular expression as a string (got ${show(arg)})` });
        return null;
      }
      try {
        return { op, regex: new RegExp(arg) };
      } catch (err) {
        issues.push({ path: `${at}/regex`, message: `not a regular expression: ${(err as Error).message}` });
        return null;
      }
  }
}

function compileJob(j: IngestFile['rules'][number]['jobs'][number], index: number, at: string, issues: Issue[]): JobRule {
  const { expiresInSeconds, delaySeconds, runAtFrom, dedup, payload, ...fixed } = j;
  if (delaySeconds !== undefined && runAtFrom !== undefined) issues.push({ path: `${at}/runAtFrom`, message: 'give delaySeconds or runAtFrom, not both' });
  return {
    index,
    fixed: fixed as Record<string, Json>,
    expiresInSeconds: expiresInSeconds ?? null,
    delaySeconds: delaySeconds ?? null,
    runAtFrom: runAtFrom === undefined ? null : checkedPath(runAtFrom, `${at}/runAtFrom`, issues),
    dedup: dedup === undefined ? null : dedup.map((p, i) => checkedPath(p, `${at}/dedup/${i}`, issues)).filter((p): p is FieldPath => p !== null),
    payload: compilePayload(payload === undefined ? 'data' : payload, `${at}/payload`, issues, true),
  };
}

/** A path string, or an object of mappings; `name?` marks a field left out when the event lacks it. */
function compilePayload(value: unknown, at: string, issues: Issue[], top = false): PayloadMap {
  if (typeof value === 'string') {
    const optional = !top && value.endsWith('?');
    const text = optional ? value.slice(0, -1) : value;
    const path = checkedPath(text, at, issues);
    return path ? { kind: 'path', path, optional } : { kind: 'object', fields: [] };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { kind: 'object', fields: Object.entries(value).map(([k, v]) => [k, compilePayload(v, `${at}/${escape(k)}`, issues)]) };
  }
  issues.push({ path: at, message: `must be a field path such as "data" or "data.order", or an object mapping payload fields to field paths (got ${show(value)})` });
  return { kind: 'object', fields: [] };
}

function checkedPath(text: string, at: string, issues: Issue[]): FieldPath | null {
  const problem = pathProblem(text);
  if (problem) {
    issues.push({ path: at, message: problem });
    return null;
  }
  return parsePath(text);
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
