import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { readFileSync } from 'node:fs';
import type { ClassifyRule } from '../domain/recovery/classify.js';
import { DEFAULT_POLICY, type RecoveryPolicy } from '../domain/recovery/policy.js';
import { DEFAULT_RETENTION, type RetentionConfig } from '../domain/retention.js';
import { ValidationError } from '../domain/errors.js';
import { compileIngest, IngestSchema, type IngestConfig } from '../domain/ingest/rules.js';
import { ConfigError } from './config.js';
import { WebhooksFileSchema, webhookRulesOf } from './webhook-config.js';
import type { WebhookPolicy } from '../domain/webhooks/policy.js';
import { dedupRulesOf } from './dedup-config.js';
import { FairnessFileSchema, RoutingFileSchema } from './fairness-config.js';
import type { FairnessConfig } from '../domain/fairness.js';
import type { RoutingRule } from '../domain/routing.js';
import type { DedupRule } from '../domain/dedup.js';
import { alertRulesOf, type AlertsConfig } from './alert-config.js';

/**
 * The optional configuration file (DOCKET_CONFIG / --config, JSON): the rules that are too rich for
 * environment variables. Every error names the file and the path of the bad entry.
 */

const Seconds = (description: string) => Type.Number({ exclusiveMinimum: 0, maximum: 31_536_000, description });
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

const KeepSchema = Type.Object(
  { maxAgeSeconds: Type.Optional(Seconds('delete finished jobs older than this')), maxCount: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
const RulesSchema = Type.Object(
  { succeeded: Type.Optional(KeepSchema), failed: Type.Optional(KeepSchema), cancelled: Type.Optional(KeepSchema), expired: Type.Optional(KeepSchema) },
  { additionalProperties: false },
);

export const ConfigFileSchema = Type.Object(
  {
    recovery: Type.Optional(
      Type.Object(
        { classify: Type.Optional(Type.Array(ClassifyRuleSchema)), policies: Type.Optional(Type.Array(PolicySchema)) },
        { additionalProperties: false },
      ),
    ),
    retention: Type.Optional(
      Type.Object({ default: Type.Optional(RulesSchema), queues: Type.Optional(Type.Record(Type.String(), RulesSchema)) }, { additionalProperties: false }),
    ),
    /** Events in, jobs out (docs/ingestion.md). */
    ingest: Type.Optional(IngestSchema),
    /** Webhook retries and disabling (docs/webhooks.md). */
    webhooks: Type.Optional(WebhooksFileSchema),
    /** Dedup rules per job type (docs/jobs.md#deduplication); checked by dedup-config.ts, which names entries `dedup[1].fields[0]`. */
    dedup: Type.Optional(Type.Unknown({ description: 'array of { type, queue?, fields, ttlSeconds }' })),
    /** Alert rules (docs/alerts.md); checked by alert-config.ts, which names entries `/alerts/rules/2/above`. */
    alerts: Type.Optional(Type.Unknown({ description: '{ evaluateEverySeconds?, rules: [{ kind, name, ... }] }' })),
    /** Tenant weights and caps per queue (docs/fairness.md). */
    fairness: Type.Optional(FairnessFileSchema),
    /** Job types to queues, for submits that name no queue (docs/fairness.md#routing). */
    routing: Type.Optional(RoutingFileSchema),
  },
  { additionalProperties: false },
);
type ConfigFile = Static<typeof ConfigFileSchema>;
const check = TypeCompiler.Compile(ConfigFileSchema);

export interface FileConfig {
  classify: ClassifyRule[];
  policies: RecoveryPolicy[];
  retention: RetentionConfig;
  /** Ingestion rules (events → jobs); null when the file has no `ingest` section. */
  ingest?: IngestConfig | null;
  /** Webhook delivery policy over the defaults (ms); absent when the file has no `webhooks` section. */
  webhooks?: Partial<WebhookPolicy>;
  /** Dedup rules per job type; absent or empty when the file has no `dedup` section. */
  dedup?: DedupRule[];
  /** Alert rules evaluated by the leader; absent when the file has no `alerts` section. */
  alerts?: AlertsConfig;
  /** Tenant weights and caps per queue; absent when the file has no `fairness` section. */
  fairness?: FairnessConfig;
  /** Type -> queue routing rules; absent when the file has no `routing` section. */
  routing?: RoutingRule[];
}

export const EMPTY_FILE_CONFIG: FileConfig = { classify: [], policies: [], retention: DEFAULT_RETENTION };

export function loadConfigFile(path: string | undefined): FileConfig {
  if (!path) return EMPTY_FILE_CONFIG;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  return parseConfigFile(raw, path);
}

/** Validates a parsed configuration file; `source` names it in errors. */
export function parseConfigFile(raw: unknown, source = 'config'): FileConfig {
  if (!check.Check(raw)) {
    const errors = [...check.Errors(raw)].slice(0, 5).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new ConfigError(`${source}: ${errors.join('; ')}`);
  }
  const file: ConfigFile = raw;
  const classify = file.recovery?.classify ?? [];
  classify.forEach((rule, i) => {
    if (rule.match.message === undefined) return;
    try {
      new RegExp(rule.match.message);
    } catch (err) {
      throw new ConfigError(`${source}: /recovery/classify/${i}/match/message: not a regular expression: ${(err as Error).message}`);
    }
  });
  const policies = (file.recovery?.policies ?? []).map((p) => ({ ...DEFAULT_POLICY, ...p, release: { ...DEFAULT_POLICY.release, ...p.release } }));
  const retention: RetentionConfig = {
    default: { ...DEFAULT_RETENTION.default, ...file.retention?.default },
    queues: file.retention?.queues ?? {},
  };
  let ingest: IngestConfig | null = null;
  try {
    if (file.ingest) ingest = compileIngest(file.ingest);
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
  const webhooks = webhookRulesOf(file.webhooks, source);
  const dedup = dedupRulesOf(file.dedup, source);
  const alerts = file.alerts === undefined ? undefined : alertRulesOf(file.alerts, source);
  return {
    classify,
    policies,
    retention,
    ingest,
    ...(webhooks ? { webhooks } : {}),
    ...(dedup.length > 0 ? { dedup } : {}),
    ...(alerts ? { alerts } : {}),
    ...(file.fairness ? { fairness: file.fairness } : {}),
    ...(file.routing ? { routing: file.routing } : {}),
  };
}
