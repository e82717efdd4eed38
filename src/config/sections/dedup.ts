import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isPatternMismatch, NAME_PATTERN, notAValidName } from '../../domain/job-input.js';
import { fieldPathProblem, MAX_DEDUP_TTL_SECONDS, type DedupRule } from '../../domain/dedup.js';
import { ConfigError } from '../errors.js';

/**
 * The `dedup` section of the configuration file (docs/jobs.md#deduplication): per job type, and
 * optionally queue, the fields whose values form a job's dedup key, and how long a key is held.
 * Errors name the entry as an operator reads the file: `dedup[1].fields[0]: ...`.
 */
const DedupRuleSchema = Type.Object(
  {
    type: Type.String({ pattern: NAME_PATTERN, description: 'the job type the rule covers' }),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'only jobs of this queue; default any queue' })),
    fields: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      minItems: 1,
      maxItems: 16,
      description: 'payload.<path>, labels.<name>, queue or priority: their values form the key',
    }),
    ttlSeconds: Type.Integer({ minimum: 1, maximum: MAX_DEDUP_TTL_SECONDS, description: 'how long a key is held after the job that took it was submitted' }),
  },
  { additionalProperties: false },
);

export const DedupFileSchema = Type.Array(DedupRuleSchema, { maxItems: 1000 });
const check = TypeCompiler.Compile(DedupFileSchema);

/** The checked rules of the section (none when it is absent). Throws ConfigError naming the first bad entries. */
export function dedupRulesOf(section: unknown, source: string): DedupRule[] {
  if (section === undefined) return [];
  if (!check.Check(section)) {
    const errors = [...check.Errors(section)].slice(0, 5).map((e) => `${pathOf(e.path)}: ${message(e.message, e.value)}`);
    throw new ConfigError(`${source}: ${errors.join('; ')}`);
  }
  const problems: string[] = [];
  const seen = new Map<string, number>();
  section.forEach((rule, i) => {
    rule.fields.forEach((f, j) => {
      const problem = fieldPathProblem(f);
      if (problem) problems.push(`dedup[${i}].fields[${j}]: ${problem}`);
    });
    const scope = `${rule.type}\u0000${rule.queue ?? ''}`;
    const earlier = seen.get(scope);
    if (earlier !== undefined) problems.push(`dedup[${i}]: the same type${rule.queue ? ' and queue' : ''} as dedup[${earlier}]; one rule per type (and queue)`);
    else seen.set(scope, i);
  });
  if (problems.length > 0) throw new ConfigError(`${source}: ${problems.slice(0, 5).join('; ')}`);
  return section.map((r) => ({ type: r.type, ...(r.queue !== undefined ? { queue: r.queue } : {}), fields: r.fields, ttlSeconds: r.ttlSeconds }));
}

/** `/1/fields/0` -> `dedup[1].fields[0]`. */
function pathOf(pointer: string): string {
  return `dedup${pointer
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
    .join('')}`;
}

function message(text: string, value: unknown): string {
  if (text.startsWith('Unexpected property')) return 'unknown field (a rule has type, queue, fields, ttlSeconds)';
  if (text === 'Expected required property') return 'required';
  if (isPatternMismatch(text)) return notAValidName(value);
  return `${text}${value === undefined ? '' : ` (got ${JSON.stringify(value)?.slice(0, 80)})`}`;
}
