import { resolve } from 'node:path';
import { DEFAULT_INPUT_LIMITS } from '../domain/job-input.js';

/** Everything a Docket process is configured with, resolved once at start. */
export interface DocketConfig {
  /** Where the embedded SQLite database lives. Env DOCKET_DATA_DIR. @defaultValue ./data */
  dataDir: string;
  /** HTTP bind address. Env DOCKET_HOST. @defaultValue 127.0.0.1 (not reachable from other machines) */
  host: string;
  /** HTTP port. Env PORT. @defaultValue 8080 */
  port: number;
  /** How long a claim holds a job without a heartbeat; a dead worker's jobs rerun after it. Env DOCKET_LEASE_MS. @defaultValue 30000 */
  leaseMs: number;
  /** Largest job payload or result, JSON bytes. Env DOCKET_MAX_PAYLOAD_BYTES. @defaultValue 1048576 */
  maxPayloadBytes: number;
  /** SQLite durability: `normal` survives process crashes, `full` also power loss (slower). Env DOCKET_SQLITE_SYNC. @defaultValue normal */
  sqliteSync: 'normal' | 'full';
  /** Log level for pino. Env DOCKET_LOG_LEVEL. @defaultValue info */
  logLevel: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/** Reads the environment and flags (flags win). Throws ConfigError naming the bad setting. */
export function resolveConfig(env: Env = process.env, flags: Partial<DocketConfig> = {}): DocketConfig {
  return Object.freeze({
    dataDir: resolve(flags.dataDir ?? env.DOCKET_DATA_DIR ?? './data'),
    host: flags.host ?? env.DOCKET_HOST ?? '127.0.0.1',
    port: flags.port ?? int(env, 'PORT', 8080, 0, 65535),
    leaseMs: flags.leaseMs ?? int(env, 'DOCKET_LEASE_MS', 30_000, 100, 86_400_000),
    maxPayloadBytes: flags.maxPayloadBytes ?? int(env, 'DOCKET_MAX_PAYLOAD_BYTES', DEFAULT_INPUT_LIMITS.maxPayloadBytes, 1, 64 * 1024 * 1024),
    sqliteSync: flags.sqliteSync ?? oneOf(env, 'DOCKET_SQLITE_SYNC', ['normal', 'full'] as const, 'normal'),
    logLevel: flags.logLevel ?? oneOf(env, 'DOCKET_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  });
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
