import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler';
import { readFileSync } from 'node:fs';
import type { ClassifyRule } from '../domain/recovery/classify.js';
import type { RecoveryPolicy } from '../domain/recovery/policy.js';
import { DEFAULT_RETENTION, type RetentionConfig } from '../domain/retention.js';
import { ValidationError } from '../domain/errors.js';
import { compileIngest, IngestSchema, type IngestConfig } from '../domain/ingest/rules.js';
import type { FairnessConfig } from '../domain/fairness.js';
import type { RoutingRule } from '../domain/routing.js';
import type { DedupRule } from '../domain/dedup.js';
import type { WebhookPolicy } from '../domain/webhooks/policy.js';
import { ConfigError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { alertRulesOf, type AlertsConfig } from './sections/alerts.js';
import { dedupRulesOf } from './sections/dedup.js';
import { FairnessFileSchema, RoutingFileSchema } from './sections/fairness.js';
import { LoopsFileSchema, loopsOf, type LoopIntervals } from './sections/loops.js';
import { RecoveryFileSchema, recoveryOf } from './sections/recovery.js';
import { RetentionFileSchema, retentionOf } from './sections/retention.js';
import { WebhooksFileSchema, webhookRulesOf } from './sections/webhooks.js';
import { KafkaFileSchema } from './sections/kafka.js';
import type { TopicLayoutConfig } from '../adapters/kafka/topic-layout.js';

/**
 * The optional configuration file (DOCKET_CONFIG / --config, JSON): the rules that are too rich for
 * environment variables, one schema per section in ./sections. Every error names the file and the
 * path of the bad entry. Every key, its default and trade-off: docs/configuration.md.
 */
export const ConfigFileSchema = Type.Object(
  {
    /** Error classification and condition policies (docs/recovery.md). */
    recovery: Type.Optional(RecoveryFileSchema),
    /** How long finished jobs are kept (docs/recovery.md#retention). */
    retention: Type.Optional(RetentionFileSchema),
    /** Events in, jobs out (docs/ingestion.md). */
    ingest: Type.Optional(IngestSchema),
    /** Webhook retries and disabling (docs/webhooks.md). */
    webhooks: Type.Optional(WebhooksFileSchema),
    /** Dedup rules per job type (docs/jobs.md#deduplication); checked by sections/dedup.ts, which names entries `dedup[1].fields[0]`. */
    dedup: Type.Optional(Type.Unknown({ description: 'array of { type, queue?, fields, ttlSeconds }' })),
    /** Alert rules (docs/alerts.md); checked by sections/alerts.ts, which names entries `/alerts/rules/2/above`. */
    alerts: Type.Optional(Type.Unknown({ description: '{ evaluateEverySeconds?, rules: [{ kind, name, ... }] }' })),
    /** Tenant weights and caps per queue (docs/fairness.md). */
    fairness: Type.Optional(FairnessFileSchema),
    /** Job types to queues, for submits that name no queue (docs/fairness.md#routing). */
    routing: Type.Optional(RoutingFileSchema),
    /** How often each background loop runs (docs/configuration.md#loops). */
    loops: Type.Optional(LoopsFileSchema),
    /** Partitions and replicas of the Kafka topics Docket creates (docs/kafka.md#topics). */
    kafka: Type.Optional(KafkaFileSchema),
  },
  { additionalProperties: false },
);
type ConfigFile = Static<typeof ConfigFileSchema>;
const check = TypeCompiler.Compile(ConfigFileSchema);

/** The file's sections, checked and in the engine's units (ms); frozen. */
export interface FileConfig {
  readonly classify: ClassifyRule[];
  readonly policies: RecoveryPolicy[];
  readonly retention: RetentionConfig;
  /** Ingestion rules (events → jobs); null when the file has no `ingest` section. */
  readonly ingest?: IngestConfig | null;
  /** Webhook delivery policy over the defaults (ms); absent when the file has no `webhooks` section. */
  readonly webhooks?: Partial<WebhookPolicy>;
  /** Dedup rules per job type; absent or empty when the file has no `dedup` section. */
  readonly dedup?: DedupRule[];
  /** Alert rules evaluated by the leader; absent when the file has no `alerts` section. */
  readonly alerts?: AlertsConfig;
  /** Tenant weights and caps per queue; absent when the file has no `fairness` section. */
  readonly fairness?: FairnessConfig;
  /** Type -> queue routing rules; absent when the file has no `routing` section. */
  readonly routing?: RoutingRule[];
  /** Loop intervals the file sets (ms); absent when the file has no `loops` section. */
  readonly loops?: Partial<LoopIntervals>;
  /** Kafka topic layout; absent when the file has no `kafka` section. */
  readonly kafka?: TopicLayoutConfig;
}

export const EMPTY_FILE_CONFIG: FileConfig = deepFreeze({ classify: [], policies: [], retention: DEFAULT_RETENTION });

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
    const errors = [...check.Errors(raw)].slice(0, 5).map((e) => `${e.path || '/'}: ${problemOf(e)}`);
    throw new ConfigError(`${source}: ${errors.join('; ')}`);
  }
  const file: ConfigFile = raw;
  const { classify, policies } = recoveryOf(file.recovery, source);
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
  const loops = loopsOf(file.loops);
  return deepFreeze({
    classify,
    policies,
    retention: retentionOf(file.retention),
    ingest,
    ...(webhooks ? { webhooks } : {}),
    ...(dedup.length > 0 ? { dedup } : {}),
    ...(alerts ? { alerts } : {}),
    ...(file.fairness ? { fairness: file.fairness } : {}),
    ...(file.routing ? { routing: file.routing } : {}),
    ...(loops ? { loops } : {}),
    ...(file.kafka ? { kafka: file.kafka } : {}),
  });
}

/** TypeBox's message, except that a misspelt key is told the keys its object takes. */
function problemOf(e: ValueError): string {
  const keys = Object.keys((e.schema as { properties?: object }).properties ?? {});
  if (e.message.startsWith('Unexpected property') && keys.length > 0) return `unknown key; expected one of ${keys.join(', ')}`;
  return e.message;
}
