import { resolve } from 'node:path';
import { MIN_SECRET_BYTES } from '../auth/tokens.js';
import { DEFAULT_INPUT_LIMITS } from '../domain/job-input.js';
import { parseRateRule, type RateRule } from '../domain/token-bucket.js';
import { ConfigError } from './errors.js';
import { MAX_REPLICATION_FACTOR, parsePartitions, type TopicLayoutConfig } from '../adapters/kafka/topic-layout.js';

/**
 * The settings of a Docket process that come from environment variables and `docket server` flags
 * (a flag wins over its variable; unset variables, and empty ones but DOCKET_HOST and
 * DOCKET_DATA_DIR, take the default). The richer rules come from the configuration file
 * (./file.ts); ./index.ts resolves both into one Config. Every setting, its default and
 * trade-off: docs/configuration.md.
 */
export interface DocketConfig {
  /** Where the embedded SQLite database lives. Env DOCKET_DATA_DIR, flag --data-dir. @defaultValue ./data */
  readonly dataDir: string;
  /** HTTP bind address. Env DOCKET_HOST, flag --host. @defaultValue 127.0.0.1 (not reachable from other machines) */
  readonly host: string;
  /** HTTP port. Env PORT, flag --port. @defaultValue 8080 */
  readonly port: number;
  /**
   * How long a claim holds a job without a heartbeat. Shorter: a dead worker's jobs rerun sooner,
   * but a worker that misses heartbeats (a long GC pause) loses jobs it still runs, which then run
   * twice. Env DOCKET_LEASE_MS, flag --lease-ms. @defaultValue 30000
   */
  readonly leaseMs: number;
  /** Largest job payload or result, JSON bytes; bigger ones cost store space and time on every read of the job. Env DOCKET_MAX_PAYLOAD_BYTES. @defaultValue 1048576 */
  readonly maxPayloadBytes: number;
  /** SQLite durability: `normal` survives process crashes, `full` also power loss (an fsync per commit: much slower writes). Env DOCKET_SQLITE_SYNC. @defaultValue normal */
  readonly sqliteSync: 'normal' | 'full';
  /** Log level for pino. Env DOCKET_LOG_LEVEL. @defaultValue info */
  readonly logLevel: string;
  /** Production mode: the PostgreSQL store. Env DOCKET_DATABASE_URL, flag --database-url. Needs redisUrl too. @defaultValue none: embedded mode */
  readonly databaseUrl: string | null;
  /** Production mode: the Redis dispatch (and shared rate limits, worker directory). Env DOCKET_REDIS_URL, flag --redis-url. Needs databaseUrl too. @defaultValue none: embedded mode */
  readonly redisUrl: string | null;
  /**
   * Prefix of every Redis key and channel: one cluster's name. Clusters sharing a Redis (or a
   * PostgreSQL database, for the leader lock) differ by it. Env DOCKET_REDIS_PREFIX. @defaultValue docket:
   */
  readonly redisPrefix: string;
  /** The configuration file (JSON): recovery rules and policies, retention, ingest, webhooks, dedup, alerts, fairness, routing, loop intervals. Env DOCKET_CONFIG, flag --config. @defaultValue none: every section at its defaults */
  readonly configFile: string | null;
  /** Handlers module of the in-process worker (`docket server`). Env DOCKET_HANDLERS, flag --handlers. @defaultValue the shipped examples/handlers.js */
  readonly handlers: string | null;
  /** What this process does: any of api, scheduler, worker. Env DOCKET_ROLES, flag --role. @defaultValue all three */
  readonly roles: ReadonlySet<ServerRole>;
  /** HS256 signing secret for tokens (32+ bytes). Env DOCKET_JWT_SECRET. @defaultValue embedded: created in `<dataDir>/jwt-secret` */
  readonly jwtSecret: string | null;
  /** JWKS file path or URL for RS256/ES256 tokens from an identity provider; not with jwtSecret. Env DOCKET_JWKS. @defaultValue none */
  readonly jwks: string | null;
  /** Requests per tenant. Env DOCKET_RATE_LIMIT_TENANT (`1000/s:2000` = 1000 per second, bursts of 2000; `off`). @defaultValue 1000/s:2000 */
  readonly rateLimitTenant: RateRule | null;
  /** Requests per token. Env DOCKET_RATE_LIMIT_TOKEN. @defaultValue 500/s:1000 */
  readonly rateLimitToken: RateRule | null;
  /** Kafka bootstrap brokers (`host:port,...`): lifecycle events are published there and input topics consumed. Env DOCKET_KAFKA_BROKERS. @defaultValue none */
  readonly kafkaBrokers: readonly string[] | null;
  /** Prepended to every Kafka topic Docket writes (`job-events` → `<prefix>job-events`). Env DOCKET_KAFKA_TOPIC_PREFIX. @defaultValue '' */
  readonly kafkaTopicPrefix: string;
  /**
   * Partitions and replicas of the topics Docket creates, over the config file's `kafka` section
   * (docs/kafka.md). Env DOCKET_KAFKA_PARTITIONS (`job-events=20,worker-events=10`) and
   * DOCKET_KAFKA_REPLICATION_FACTOR (every topic). @defaultValue job-events 20, worker-events 10,
   * dependency-events 10, alert-events 3, ingest-dead-letters 3; replication 1
   */
  readonly kafkaTopicLayout: TopicLayoutConfig;
  /** How often the leader publishes each active worker's status on worker-events; 0: off. Env DOCKET_WORKER_STATUS_SECONDS. @defaultValue 30 s */
  readonly workerStatusIntervalMs: number;
}

export const SERVER_ROLES = ['api', 'scheduler', 'worker'] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];


/** `api,scheduler` -> the set; names the bad entry otherwise. */
export function parseRoles(text: string, source = 'DOCKET_ROLES'): ReadonlySet<ServerRole> {
  const roles = text.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(SERVER_ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || bad.length > 0) throw new ConfigError(`${source}=${text}: roles are a comma-separated subset of ${SERVER_ROLES.join(', ')}`);
  return new Set(roles as ServerRole[]);
}

type Env = Record<string, string | undefined>;

/** Reads the environment and flags (flags win). Throws ConfigError naming the bad setting. */
export function resolveConfig(env: Env = process.env, flags: Partial<DocketConfig> = {}): DocketConfig {
  const config: DocketConfig = {
    dataDir: resolve(flags.dataDir ?? env.DOCKET_DATA_DIR ?? './data'),
    host: flags.host ?? env.DOCKET_HOST ?? '127.0.0.1',
    port: flags.port ?? int(env, 'PORT', 8080, 0, 65535),
    leaseMs: flags.leaseMs ?? int(env, 'DOCKET_LEASE_MS', 30_000, 100, 86_400_000),
    maxPayloadBytes: flags.maxPayloadBytes ?? int(env, 'DOCKET_MAX_PAYLOAD_BYTES', DEFAULT_INPUT_LIMITS.maxPayloadBytes, 1, 64 * 1024 * 1024),
    sqliteSync: flags.sqliteSync ?? oneOf(env, 'DOCKET_SQLITE_SYNC', ['normal', 'full'] as const, 'normal'),
    jwtSecret: flags.jwtSecret ?? secretOf(env),
    jwks: flags.jwks ?? (env.DOCKET_JWKS || null),
    rateLimitTenant: flags.rateLimitTenant !== undefined ? flags.rateLimitTenant : rate(env, 'DOCKET_RATE_LIMIT_TENANT', '1000/s:2000'),
    rateLimitToken: flags.rateLimitToken !== undefined ? flags.rateLimitToken : rate(env, 'DOCKET_RATE_LIMIT_TOKEN', '500/s:1000'),
    logLevel: flags.logLevel ?? oneOf(env, 'DOCKET_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    databaseUrl: flags.databaseUrl ?? (env.DOCKET_DATABASE_URL || null),
    redisUrl: flags.redisUrl ?? (env.DOCKET_REDIS_URL || null),
    configFile: flags.configFile ?? (env.DOCKET_CONFIG ? resolve(env.DOCKET_CONFIG) : null),
    handlers: flags.handlers ?? (env.DOCKET_HANDLERS || null),
    redisPrefix: flags.redisPrefix ?? (env.DOCKET_REDIS_PREFIX || 'docket:'),
    roles: flags.roles ?? (env.DOCKET_ROLES ? parseRoles(env.DOCKET_ROLES) : new Set(SERVER_ROLES)),
    kafkaBrokers: flags.kafkaBrokers !== undefined ? flags.kafkaBrokers : brokersOf(env),
    kafkaTopicPrefix: flags.kafkaTopicPrefix ?? topicPrefixOf(env),
    kafkaTopicLayout: flags.kafkaTopicLayout ?? topicLayoutOf(env),
    workerStatusIntervalMs: flags.workerStatusIntervalMs ?? int(env, 'DOCKET_WORKER_STATUS_SECONDS', 30, 0, 86_400) * 1000,
  };
  // Half a production setup is a mistake to report, never a silent fallback to embedded parts.
  if (config.databaseUrl && !config.redisUrl) throw new ConfigError('DOCKET_DATABASE_URL is set but DOCKET_REDIS_URL is not: production mode needs both (PostgreSQL store, Redis dispatch)');
  if (config.redisUrl && !config.databaseUrl) throw new ConfigError('DOCKET_REDIS_URL is set but DOCKET_DATABASE_URL is not: production mode needs both (PostgreSQL store, Redis dispatch)');
  return Object.freeze(config);
}

/** PostgreSQL + Redis (both set), or embedded (neither). */
export function isProduction(config: DocketConfig): boolean {
  return config.databaseUrl !== null;
}

function brokersOf(env: Env): readonly string[] | null {
  const raw = env.DOCKET_KAFKA_BROKERS;
  if (!raw) return null;
  const brokers = raw.split(',').map((b) => b.trim()).filter(Boolean);
  const bad = brokers.find((b) => !/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/.test(b));
  if (brokers.length === 0 || bad !== undefined) throw new ConfigError(`DOCKET_KAFKA_BROKERS=${raw}: brokers are a comma-separated list of host:port${bad !== undefined ? ` ("${bad}" is not)` : ''}`);
  return brokers;
}

function topicPrefixOf(env: Env): string {
  const raw = env.DOCKET_KAFKA_TOPIC_PREFIX ?? '';
  if (!/^[A-Za-z0-9._-]{0,200}$/.test(raw)) throw new ConfigError(`DOCKET_KAFKA_TOPIC_PREFIX=${raw}: may hold only A-Z a-z 0-9 . _ - (at most 200)`);
  return raw;
}

function topicLayoutOf(env: Env): TopicLayoutConfig {
  const layout: { replicationFactor?: number; topics?: TopicLayoutConfig['topics'] } = {};
  if (env.DOCKET_KAFKA_REPLICATION_FACTOR) layout.replicationFactor = int(env, 'DOCKET_KAFKA_REPLICATION_FACTOR', 1, 1, MAX_REPLICATION_FACTOR);
  const raw = env.DOCKET_KAFKA_PARTITIONS;
  if (raw) {
    try {
      layout.topics = parsePartitions(raw);
    } catch (err) {
      throw new ConfigError(`DOCKET_KAFKA_PARTITIONS=${raw}: ${(err as Error).message}`);
    }
  }
  return layout;
}

function secretOf(env: Env): string | null {
  const secret = env.DOCKET_JWT_SECRET;
  if (!secret) return null;
  if (env.DOCKET_JWKS) throw new ConfigError('DOCKET_JWT_SECRET and DOCKET_JWKS are both set: choose one way to verify tokens');
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new ConfigError(`DOCKET_JWT_SECRET: must be at least ${MIN_SECRET_BYTES} bytes (got ${Buffer.byteLength(secret)})`);
  return secret;
}

function rate(env: Env, name: string, fallback: string): RateRule | null {
  const raw = env[name] || fallback;
  if (raw === 'off') return null;
  try {
    return parseRateRule(raw);
  } catch (err) {
    throw new ConfigError(`${name}=${raw}: ${(err as Error).message}`);
  }
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}=${raw}: must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name}=${raw}: must be one of ${values.join(', ')}`);
  return raw as T;
}
