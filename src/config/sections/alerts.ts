import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ALERT_KINDS, type AlertKind, type AlertRule } from '../../domain/alerts.js';
import { isPatternMismatch, NAME_PATTERN, notAValidName } from '../../domain/job-input.js';
import { ConfigError } from '../errors.js';
import { msOf, Seconds } from '../seconds.js';

/**
 * The `alerts` section of the configuration file (docs/alerts.md): rules the leader evaluates,
 * once per cluster. Each kind has its own fields; errors name the entry as the file has it
 * (`/alerts/rules/2/above: ...`).
 */

export interface AlertsConfig {
  /**
   * How often the leader evaluates the rules (`evaluateEverySeconds`): the alert evaluator's loop
   * interval. Each run reads the queues the rules name. @defaultValue 15 s
   */
  intervalMs: number;
  rules: AlertRule[];
}

export const DEFAULT_ALERT_INTERVAL_MS = 15_000;

const Name = Type.String({ pattern: NAME_PATTERN, description: 'unique name of the rule' });
const Queue = Type.String({ pattern: NAME_PATTERN, description: 'the queue' });
const common = { name: Name, forSeconds: Type.Optional(Seconds('the condition must hold this long before the alert fires (default 0)', { minimum: 0 })) };
const rule = (kind: AlertKind, fields: Record<string, TSchema>) =>
  Type.Object({ kind: Type.Literal(kind), ...common, ...fields }, { additionalProperties: false });

const KIND_SCHEMAS: Record<AlertKind, TSchema> = {
  'queue-depth': rule('queue-depth', { queue: Queue, above: Type.Integer({ minimum: 0, description: 'ready jobs' }) }),
  'oldest-ready': rule('oldest-ready', { queue: Queue, olderThanSeconds: Seconds('how long the oldest ready job has been due') }),
  'failure-rate': rule('failure-rate', {
    queue: Queue,
    above: Type.Number({ minimum: 0, maximum: 1, description: 'failed / (succeeded + failed) of the jobs that ended in the window' }),
    overSeconds: Seconds('the window'),
    minJobs: Type.Optional(Type.Integer({ minimum: 1, description: 'fewer jobs ended in the window never fire (default 10)' })),
  }),
  'dead-letter-growth': rule('dead-letter-growth', {
    queue: Type.Optional(Queue),
    above: Type.Integer({ minimum: 0, description: 'jobs that failed for good in the window' }),
    overSeconds: Seconds('the window'),
  }),
  'no-worker': rule('no-worker', { queue: Queue }),
  'condition-open': rule('condition-open', {
    condition: Type.String({ minLength: 1, maxLength: 256, description: 'a recovery condition key, or a prefix ending in *' }),
    longerThanSeconds: Seconds('how long the condition has been open'),
  }),
};
const CHECKS = Object.fromEntries(Object.entries(KIND_SCHEMAS).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as Record<AlertKind, ReturnType<typeof TypeCompiler.Compile>>;

const SectionSchema = Type.Object(
  {
    evaluateEverySeconds: Type.Optional(Seconds('how often the leader evaluates the rules (default 15)', { minimum: 1, maximum: 3600 })),
    rules: Type.Array(Type.Object({ kind: Type.String() }), { maxItems: 1000 }),
  },
  { additionalProperties: false },
);
const checkSection = TypeCompiler.Compile(SectionSchema);

type RawRule = { kind: AlertKind; name: string; forSeconds?: number; queue?: string; above?: number; olderThanSeconds?: number; overSeconds?: number; minJobs?: number; condition?: string; longerThanSeconds?: number };

/** The checked section (none: no rules). Throws ConfigError naming the file and the first bad entries. */
export function alertRulesOf(section: unknown, source: string): AlertsConfig {
  if (section === undefined) return { intervalMs: DEFAULT_ALERT_INTERVAL_MS, rules: [] };
  const problems: string[] = [];
  if (!checkSection.Check(section)) {
    for (const e of [...checkSection.Errors(section)].slice(0, 5)) problems.push(`/alerts${e.path}: ${message(e.message, e.value)}`);
    throw new ConfigError(`${source}: ${problems.join('; ')}`);
  }
  const names = new Map<string, number>();
  section.rules.forEach((raw, i) => {
    const at = `/alerts/rules/${i}`;
    if (!(ALERT_KINDS as readonly string[]).includes(raw.kind)) {
      problems.push(`${at}/kind: "${raw.kind}" is not a rule kind; use one of ${ALERT_KINDS.join(', ')}`);
      return;
    }
    const check = CHECKS[raw.kind as AlertKind];
    if (!check.Check(raw)) {
      for (const e of [...check.Errors(raw)].slice(0, 3)) problems.push(`${at}${e.path}: ${message(e.message, e.value)}`);
      return;
    }
    const name = (raw as RawRule).name;
    const earlier = names.get(name);
    if (earlier !== undefined) problems.push(`${at}/name: "${name}" is already the name of /alerts/rules/${earlier}; names must be unique`);
    else names.set(name, i);
  });
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.slice(0, 5).join('; ')}`);
  const intervalMs = section.evaluateEverySeconds === undefined ? DEFAULT_ALERT_INTERVAL_MS : msOf(section.evaluateEverySeconds);
  return { intervalMs, rules: (section.rules as RawRule[]).map(ruleOf) };
}

function ruleOf(r: RawRule): AlertRule {
  const ms = (s: number | undefined) => msOf(s ?? 0);
  const base = { name: r.name, kind: r.kind, forMs: ms(r.forSeconds), windowMs: 0, queue: r.queue ?? null };
  switch (r.kind) {
    case 'queue-depth':
      return { ...base, threshold: r.above! };
    case 'oldest-ready':
      return { ...base, threshold: r.olderThanSeconds! };
    case 'failure-rate':
      return { ...base, threshold: r.above!, windowMs: ms(r.overSeconds), minJobs: r.minJobs ?? 10 };
    case 'dead-letter-growth':
      return { ...base, threshold: r.above!, windowMs: ms(r.overSeconds) };
    case 'no-worker':
      return { ...base, threshold: 0 };
    case 'condition-open':
      return { ...base, queue: null, threshold: r.longerThanSeconds!, condition: r.condition! };
  }
}

function message(text: string, value: unknown): string {
  if (text.startsWith('Unexpected property')) return 'unknown field (see docs/alerts.md for the fields of each kind)';
  if (text === 'Expected required property') return 'required';
  if (isPatternMismatch(text)) return notAValidName(value);
  return `${text}${value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80)})`}`;
}
