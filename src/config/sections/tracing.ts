import { ConfigError } from '../errors.js';

/**
 * Tracing (docs/tracing.md), from the standard OpenTelemetry environment variables only: the
 * server and the CLI worker start the OpenTelemetry SDK when they ask for traces, and not
 * otherwise (the default). What is read here is what this SDK setup does not read itself; the
 * OTLP exporter reads its endpoint, headers, timeout and compression (OTEL_EXPORTER_OTLP_*) on its own.
 */
export interface TracingConfig {
  exporter: 'otlp' | 'console';
  /** OTLP over HTTP: protobuf (the spec's default) or JSON. */
  protocol: 'http/protobuf' | 'http/json';
  sampler: { name: string; ratio: number };
  batch: { scheduledDelayMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number; exportTimeoutMillis?: number };
}

type Env = Readonly<Record<string, string | undefined>>;

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/**
 * null (tracing off) unless OTEL_TRACES_EXPORTER names otlp or console, or, with it unset, an
 * OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
 * OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off. Throws ConfigError for a value
 * this build cannot honour, naming the variable.
 */
export function tracingOf(env: Env): TracingConfig | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (named.includes('none') || (named.length === 0 && !endpoint)) return null;
  const exporters = named.length === 0 ? ['otlp'] : named;
  const unknown = exporters.filter((e) => e !== 'otlp' && e !== 'console');
  if (unknown.length > 0 || exporters.length > 1) {
    throw new ConfigError(`OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: give one of otlp (OTLP over HTTP), console or none`);
  }
  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[protocolVar] ?? 'http/protobuf').trim().toLowerCase();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new ConfigError(`${protocolVar}=${env[protocolVar]}: Docket exports OTLP over HTTP; give http/protobuf (the default) or http/json`);
  }
  const sampler = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  if (!SAMPLERS.includes(sampler)) throw new ConfigError(`OTEL_TRACES_SAMPLER=${env.OTEL_TRACES_SAMPLER}: give one of ${SAMPLERS.join(', ')}`);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG === undefined ? 1 : Number(env.OTEL_TRACES_SAMPLER_ARG);
  if (sampler.endsWith('traceidratio') && !(ratio >= 0 && ratio <= 1)) {
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG}: the sampling ratio, a number from 0 to 1`);
  }
  return {
    exporter: exporters[0] as 'otlp' | 'console',
    protocol,
    sampler: { name: sampler, ratio },
    batch: {
      ...millis(env, 'OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'),
      ...millis(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'),
      ...millis(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'),
      ...millis(env, 'OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'),
    },
  };
}

function millis<K extends string>(env: Env, name: string, key: K): Partial<Record<K, number>> {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return {};
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}=${raw}: a whole number, 0 or more`);
  return { [key]: n } as Partial<Record<K, number>>;
}
