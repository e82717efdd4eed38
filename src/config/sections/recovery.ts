import { Type, type Static } from '@sinclair/typebox';
import type { ClassifyRule } from '../../domain/recovery/classify.js';
import { DEFAULT_POLICY, type RecoveryPolicy } from '../../domain/recovery/policy.js';
import { ConfigError } from '../errors.js';
import { Seconds } from '../seconds.js';

/**
 * The `recovery` section of the configuration file (docs/recovery.md): how errors are classified
 * and how a condition's parked jobs are probed and released.
 */
const Outcome = Type.Union([Type.Literal('permanent'), Type.Literal('retryable'), Type.Literal('transient')]);

const ClassifyRuleSchema = Type.Object(
  {
    match: Type.Object(
      {
        code: Type.Optional(Type.String({ minLength: 1 })),
        name: Type.Optional(Type.String({ minLength: 1, description: 'the error class' })),
        message: Type.Optional(Type.String({ minLength: 1, description: 'a regular expression tested against the message' })),
      },
      { additionalProperties: false, minProperties: 1 },
    ),
    outcome: Outcome,
    condition: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

const PolicySchema = Type.Object(
  {
    conditions: Type.String({ minLength: 1, description: 'a condition key, or a prefix ending in *' }),
    probeEverySeconds: Type.Optional(Seconds('wait before the first probe and between probes')),
    probeBackoff: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
    maxProbeEverySeconds: Type.Optional(Seconds('cap on the wait between probes')),
    release: Type.Optional(
      Type.Object(
        {
          perSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
          maxPerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100_000 })),
          rampEverySeconds: Type.Optional(Seconds('the release rate doubles this often')),
        },
        { additionalProperties: false },
      ),
    ),
    maxParkSeconds: Type.Optional(Seconds('a job parked longer fails with the condition as reason')),
  },
  { additionalProperties: false },
);

export const RecoveryFileSchema = Type.Object(
  { classify: Type.Optional(Type.Array(ClassifyRuleSchema)), policies: Type.Optional(Type.Array(PolicySchema)) },
  { additionalProperties: false },
);

/** The checked section: classify rules whose messages compile, and policies over DEFAULT_POLICY. */
export function recoveryOf(section: Static<typeof RecoveryFileSchema> | undefined, source: string): { classify: ClassifyRule[]; policies: RecoveryPolicy[] } {
  const classify = section?.classify ?? [];
  classify.forEach((rule, i) => {
    if (rule.match.message === undefined) return;
    try {
      new RegExp(rule.match.message);
    } catch (err) {
      throw new ConfigError(`${source}: /recovery/classify/${i}/match/message: not a regular expression: ${(err as Error).message}`);
    }
  });
  const policies = (section?.policies ?? []).map((p) => ({ ...DEFAULT_POLICY, ...p, release: { ...DEFAULT_POLICY.release, ...p.release } }));
  return { classify, policies };
}
