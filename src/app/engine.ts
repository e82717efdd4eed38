import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { SystemClock } from '../adapters/clock/system-clock.js';
import { MemoryRateLimiter } from '../adapters/memory/memory-rate-limiter.js';
import { PostgresLeadership } from '../adapters/postgres/postgres-leadership.js';
import { PostgresStore } from '../adapters/postgres/postgres-store.js';
import { fairnessPolicy } from '../domain/fairness.js';
import { RedisDispatch } from '../adapters/redis/redis-dispatch.js';
import { RedisRateLimiter } from '../adapters/redis/redis-rate-limiter.js';
import { RedisJobCache } from '../adapters/redis/redis-job-cache.js';
import { RedisWorkerDirectory } from '../adapters/redis/redis-worker-directory.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import { isProduction, type Config } from '../config/index.js';
import { describeShortfall, layoutOf } from '../adapters/kafka/topic-layout.js';
import { Docket, openEmbedded, type EventsOptions } from './docket.js';
import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.js';
import type { EventBus } from '../ports/event-bus.js';
import { EVENT_TOPICS } from '../ports/event-log.js';
import type { IngestPipeline } from '../services/ingest/pipeline.js';
import { openIngest, type Ingest } from './ingest.js';
import { OutageLog, outageOf, type EngineName } from '../adapters/engine-outage.js';

/** A started engine with what the HTTP layer needs beside it. */
export interface Engine {
  docket: Docket;
  mode: 'embedded' | 'production';
  rateLimiter: RateLimiter;
  /** The Kafka bus, when DOCKET_KAFKA_BROKERS is set. */
  bus: EventBus | null;
  /** Events → jobs (docs/ingestion.md), when the config file has an `ingest` section; POST /v1/events feeds it. */
  ingest: IngestPipeline | null;
  /** Readiness checks by engine name, for /readyz. */
  readiness: Record<string, () => Promise<void>>;
  /** Where the data lives, for the start-up log line (no credentials). */
  location: string;
  /** Problems found at start that stop nothing (a Kafka topic with fewer partitions than configured), to log as warnings. */
  warnings: string[];
  /**
   * Reports an error of this process's other work (the in-process worker's claims and heartbeats) to
   * the outage log: an engine outage is logged once, with `what`, and its end once; other errors each time.
   */
  reportError(err: unknown, what: string): void;
  close(): Promise<void>;
}

/**
 * Opens the engine the configuration asks for (loadConfig: environment, flags and file, checked):
 * embedded (SQLite + memory) or production (PostgreSQL store, Redis dispatch and rate limits,
 * leadership on a PostgreSQL advisory lock when this process has the scheduler role).
 */
export async function openEngine(
  config: Config,
  onError: (err: unknown, what?: string) => void,
  onLeadership?: (leader: boolean) => void,
  onRecovered?: (engine: EngineName, downMs: number, suppressed: number) => void,
): Promise<Engine> {
  const { rules, loops } = config;
  const warnings: string[] = [];
  // Every client and loop reports here: an engine outage is logged once, not once per retry.
  const probes: Partial<Record<EngineName, () => Promise<void>>> = {};
  const outages = new OutageLog({ onError, onRecovered: onRecovered ?? (() => {}), probes });
  onError = (err) => outages.report(err);
  const reportError = (err: unknown, what: string) => outages.report(err, undefined, what);
  // A topic layout shortfall found once the broker answers after start: logged (at start it is a warning).
  const bus = await openBus(config, onError, warnings, (message) => onError(new Error(message)));
  const kafkaReadiness: Record<string, () => Promise<void>> = bus ? { kafka: () => bus.ready() } : {};
  const events: EventsOptions = { bus, topicPrefix: config.kafkaTopicPrefix, source: sourceOf(config) };
  if (!isProduction(config)) {
    const docket = await openEmbedded({
      events,
      rules,
      loops,
      dataDir: config.dataDir,
      leaseMs: config.leaseMs,
      maxPayloadBytes: config.maxPayloadBytes,
      sqliteSync: config.sqliteSync,
      workerStatusIntervalMs: config.workerStatusIntervalMs,
      onError,
    });
    // Scheduler processes join the ingest consumer group (Kafka spreads the partitions over them).
    const ingest = await openIngest({ config, rules, docket, bus, source: sourceOf(config), onError, onWarning: (w) => warnings.push(w) }).catch(async (err: unknown) => {
      await docket.stop().catch(() => {});
      await bus?.close().catch(() => {});
      throw err;
    });
    const rateLimiter = new MemoryRateLimiter();
    return {
      docket,
      mode: 'embedded',
      rateLimiter,
      bus,
      ingest: ingest?.pipeline ?? null,
      readiness: { store: () => docket.store.ping(), ...kafkaReadiness },
      location: `${config.dataDir}/docket.db`,
      warnings,
      reportError,
      close: async () => {
        outages.close();
        await ingest?.stop();
        await docket.stop();
        await rateLimiter.close();
        await bus?.close();
      },
    };
  }

  const clock = new SystemClock();
  // While Redis is down, a command fails after 3 reconnect attempts rather than waiting: the
  // request answers 503 and the loops retry on their own schedule. ioredis's default backoff grows
  // to 2 s between attempts: 3 of them held submits past 5 s at the start and end of a 6 s outage
  // (test/engine-outage.test.ts); with at most 500 ms none did, and it reconnects within 0.5 s.
  const redis = new Redis(config.redisUrl!, { maxRetriesPerRequest: 3, retryStrategy: (times) => Math.min(times * 50, 500) });
  redis.on('error', (err) => outages.report(err, 'Redis'));
  const store = new PostgresStore({ connectionString: config.databaseUrl!, onError: (err) => outages.report(err, 'PostgreSQL') });
  probes.PostgreSQL = () => store.ping();
  probes.Redis = async () => {
    await redis.ping();
  };
  const prefix = config.redisPrefix;
  const dispatch = new RedisDispatch({ redis, clock, prefix, ...(rules.fairness ? { fairness: fairnessPolicy(rules.fairness) } : {}) });
  const rateLimiter = new RedisRateLimiter({ redis, prefix });
  const scheduler = config.roles.has('scheduler');
  // Shared by every API process: a worker may register on one and heartbeat on another.
  const workers = new RedisWorkerDirectory({ redis, clock, prefix, heartbeatTimeoutMs: config.leaseMs });
  const docket = new Docket({
    store,
    dispatch,
    clock,
    leaseMs: config.leaseMs,
    maxPayloadBytes: config.maxPayloadBytes,
    onError,
    workers,
    workerStatusIntervalMs: config.workerStatusIntervalMs,
    rules,
    loops,
    schedules: store.companions().schedules,
    events,
    ...(onLeadership ? { onLeadership } : {}),
    cache: new RedisJobCache({ redis, prefix }),
    // One leader per cluster, and the Redis prefix names the cluster.
    leadership: scheduler ? new PostgresLeadership({ connectionString: config.databaseUrl!, lockKey: lockKeyOf(prefix), checkMs: loops.leadershipCheckMs, onError: (err) => outages.report(err, 'PostgreSQL') }) : null,
  });
  let ingest: Ingest | null = null;
  try {
    await docket.start();
    ingest = await openIngest({ config, rules, docket, bus, source: sourceOf(config), onError, onWarning: (w) => warnings.push(w) });
  } catch (err) {
    outages.close();
    await docket.stop().catch(() => {});
    await bus?.close().catch(() => {});
    redis.disconnect();
    throw err;
  }
  return {
    docket,
    mode: 'production',
    rateLimiter,
    bus,
    ingest: ingest?.pipeline ?? null,
    readiness: {
      ...kafkaReadiness,
      store: () => store.ping(),
      redis: async () => {
        await redis.ping();
      },
    },
    location: redactUrl(config.databaseUrl!),
    warnings,
    reportError,
    close: async () => {
      outages.close();
      await ingest?.stop();
      await docket.stop();
      await rateLimiter.close();
      await bus?.close();
      await redis.quit().catch(() => {});
    },
  };
}

/**
 * The Kafka bus when brokers are configured, with the lifecycle topics created as configured; an
 * existing topic with fewer partitions than configured is a warning.
 */
async function openBus(config: Config, onError: (err: unknown) => void, warnings: string[], onWarning: (message: string) => void): Promise<KafkaEventBus | null> {
  if (!config.kafkaBrokers) return null;
  const bus = new KafkaEventBus({ brokers: config.kafkaBrokers, onError: (err) => onError(err) });
  try {
    const topics = EVENT_TOPICS.map((t) => ({ name: config.kafkaTopicPrefix + t, ...layoutOf(t, config.rules.kafka, config.kafkaTopicLayout) }));
    // A broker down at start stops nothing: /readyz names `kafka` until the topics are set up, and
    // events wait in the outbox meanwhile. Shortfalls found at start are start-up warnings, later ones logged.
    let started = false;
    await bus.prepare(topics, {
      isOutage: (err) => outageOf(err) === 'Kafka',
      onReady: (shortfalls) => (started ? shortfalls.forEach((s) => onWarning(describeShortfall(s))) : warnings.push(...shortfalls.map(describeShortfall))),
    });
    started = true;
    await bus.ready().catch((err: Error) => warnings.push(`Kafka at ${config.kafkaBrokers!.join(',')} does not answer (${err.message}): starting without it, its topics are set up when it does`));
  } catch (err) {
    await bus.close().catch(() => {});
    throw new Error(`Kafka at ${config.kafkaBrokers.join(',')}: ${(err as Error).message}`);
  }
  return bus;
}

/** The envelopes' source: the cluster, named by its Redis prefix (production) or `embedded`. */
function sourceOf(config: Config): string {
  return isProduction(config) ? `/docket/${config.redisPrefix.replace(/:$/, '') || 'docket'}` : '/docket/embedded';
}

/** A 63-bit advisory lock key from the cluster name (positive, so it prints the same everywhere). */
function lockKeyOf(name: string): bigint {
  return BigInt.asUintN(63, BigInt(`0x${createHash('sha256').update(`docket-leader:${name}`).digest('hex').slice(0, 16)}`));
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql';
  }
}
