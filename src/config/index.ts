import { ConfigError } from './errors.js';
import { isProduction, resolveConfig, type DocketConfig } from './env.js';
import { loadConfigFile, type FileConfig } from './file.js';
import { deepFreeze } from './freeze.js';
import { resolveLoops, type LoopIntervals } from './sections/loops.js';

/**
 * Docket's configuration, resolved once at start into one frozen value (docs/configuration.md):
 *
 * - environment variables and `docket server` flags (./env.ts): a flag wins over its variable, a
 *   variable over the default; an unset variable is the default, and so is an empty one but
 *   DOCKET_HOST and DOCKET_DATA_DIR;
 * - the configuration file named by `--config` or DOCKET_CONFIG (./file.ts, one schema per section
 *   in ./sections): its keys are not settable any other way, so it has no precedence to settle;
 *   a key it leaves out is the default.
 *
 * Anything Docket cannot start with is a ConfigError naming the variable, flag or file entry and
 * what it expects, thrown before any engine opens.
 */
export interface Config extends DocketConfig {
  /** The configuration file's sections (none: every section at its default). */
  readonly rules: FileConfig;
  /** Every background loop's interval: the file's `loops` over the defaults. */
  readonly loops: LoopIntervals;
}

type Env = Record<string, string | undefined>;

/** Environment, flags and file, checked together, into one deeply frozen Config. */
export function loadConfig(env: Env = process.env, flags: Partial<DocketConfig> = {}): Config {
  const settings = resolveConfig(env, flags);
  const rules = loadConfigFile(settings.configFile ?? undefined);
  const config: Config = { ...settings, rules, loops: resolveLoops({ loops: rules.loops }) };
  checkTogether(config);
  return deepFreeze(config);
}

/** Settings that are each fine alone but not together. */
function checkTogether(config: Config): void {
  // Every API process of a cluster must verify the same tokens: no per-process secret.
  if (config.roles.has('api') && isProduction(config) && !config.jwtSecret && !config.jwks) {
    throw new ConfigError('production mode needs DOCKET_JWT_SECRET or DOCKET_JWKS: every API process must verify the same tokens');
  }
  // Input topics need a bus; the rules alone (HTTP ingestion) do not.
  const topics = config.rules.ingest?.topics ?? [];
  if (topics.length > 0 && !config.kafkaBrokers) {
    throw new ConfigError(
      `${config.configFile ?? 'config'}: /ingest/topics: consuming ${topics.join(', ')} needs Kafka: set DOCKET_KAFKA_BROKERS, or remove ingest.topics to take events over HTTP only (POST /v1/events)`,
    );
  }
}

export { ConfigError } from './errors.js';
export { isProduction, parseRoles, resolveConfig, SERVER_ROLES, type DocketConfig, type ServerRole } from './env.js';
export { EMPTY_FILE_CONFIG, loadConfigFile, parseConfigFile, type FileConfig } from './file.js';
export { DEFAULT_LOOPS, resolveLoops, type LoopIntervals } from './sections/loops.js';
export { DEFAULT_ALERT_INTERVAL_MS, type AlertsConfig } from './sections/alerts.js';
