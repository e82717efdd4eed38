// The configuration module (src/config, docs/configuration.md): environment, flags and file resolved
// into one frozen Config; every bad value refused at start, named by its variable, flag or file path;
// loop intervals from the file are the ones the loops run at.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { Docket } from '../src/app/docket.js';
import { ConfigError, DEFAULT_LOOPS, loadConfig, parseConfigFile, parseRoles, resolveLoops, type Config } from '../src/config/index.js';
import { cleanEnv, until } from './helpers/process.js';

const dir = mkdtempSync(join(tmpdir(), 'docket-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function fileOf(content: unknown): string {
  const path = join(dir, `docket-${++seq}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolution', () => {
  it('without environment, flags or file: the documented defaults, today\'s loop intervals included', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      dataDir: resolve('./data'),
      host: '127.0.0.1',
      port: 8080,
      leaseMs: 30_000,
      maxPayloadBytes: 1_048_576,
      sqliteSync: 'normal',
      logLevel: 'info',
      databaseUrl: null,
      redisUrl: null,
      redisPrefix: 'docket:',
      configFile: null,
      handlers: null,
      jwtSecret: null,
      jwks: null,
      rateLimitTenant: { perSecond: 1000, burst: 2000 },
      rateLimitToken: { perSecond: 500, burst: 1000 },
      kafkaBrokers: null,
      kafkaTopicPrefix: '',
    });
    expect([...config.roles]).toEqual(['api', 'scheduler', 'worker']);
    expect(config.rules).toMatchObject({ classify: [], policies: [] });
    expect(config.loops).toEqual({
      promoterMs: 1000,
      expirerMs: 1000,
      leaseReaperMs: 1000,
      workerMonitorMs: 1000,
      housekeeperMs: 1000,
      dispatchRepairMs: 5000,
      prunerMs: 60_000,
      recoveryMs: 250,
      runningSweepMs: 5000,
      relayMs: 50,
      webhookDispatchMs: 200,
      webhookSendMs: 500,
      scheduleFirerMs: 1000,
      leadershipCheckMs: 1000,
    });
  });

  it('a flag wins over its variable, a variable over the default; an empty variable is the default', () => {
    const env = { PORT: '9000', DOCKET_LEASE_MS: '5000', DOCKET_HOST: '0.0.0.0', DOCKET_ROLES: 'api', DOCKET_HANDLERS: '', DOCKET_SQLITE_SYNC: '' };
    expect(loadConfig(env)).toMatchObject({ port: 9000, leaseMs: 5000, host: '0.0.0.0', handlers: null, sqliteSync: 'normal' });
    const flagged = loadConfig(env, { port: 9100, leaseMs: 7000, handlers: './h.js', roles: parseRoles('scheduler,worker', '--role') });
    expect(flagged).toMatchObject({ port: 9100, leaseMs: 7000, host: '0.0.0.0', handlers: './h.js' });
    expect([...flagged.roles]).toEqual(['scheduler', 'worker']);
  });

  it('takes the example of docs/configuration.md as it is', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/configuration.md', import.meta.url)), 'utf8');
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as unknown);
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) expect(loadConfig({ DOCKET_CONFIG: fileOf(block) }).loops).toMatchObject({ prunerMs: 300_000, relayMs: 20 });
  });

  it('the file named by --config (over DOCKET_CONFIG) supplies the rules and the loop intervals it sets; the rest keep their defaults', () => {
    const fromEnv = fileOf({ loops: { expirerSeconds: 2 } });
    const fromFlag = fileOf({
      loops: { expirerSeconds: 30, relaySeconds: 0.02 },
      alerts: { evaluateEverySeconds: 5, rules: [] },
      recovery: { policies: [{ conditions: 'payments', maxParkSeconds: 60 }] },
    });
    expect(loadConfig({ DOCKET_CONFIG: fromEnv }).loops.expirerMs).toBe(2000);
    const config = loadConfig({ DOCKET_CONFIG: fromEnv }, { configFile: fromFlag });
    expect(config.configFile).toBe(fromFlag);
    expect(config.loops).toEqual({ ...DEFAULT_LOOPS, expirerMs: 30_000, relayMs: 20 });
    expect(config.rules.alerts?.intervalMs).toBe(5000);
    expect(config.rules.policies[0]).toMatchObject({ conditions: 'payments', maxParkSeconds: 60 });
  });
});

describe('the resolved Config is read-only all the way down', () => {
  it('every object and array in it is frozen; writing to one throws', () => {
    const config: Config = loadConfig(
      { DOCKET_KAFKA_BROKERS: '127.0.0.1:9092', DOCKET_CONFIG: fileOf({ recovery: { policies: [{ conditions: 'a' }] }, loops: { prunerSeconds: 120 }, routing: [{ types: ['mail.*'], queue: 'mail' }] }) },
    );
    const unfrozen: string[] = [];
    const walk = (value: unknown, path: string) => {
      if (value === null || typeof value !== 'object' || value instanceof Set || value instanceof RegExp) return;
      if (!Object.isFrozen(value)) unfrozen.push(path);
      for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
    };
    walk(config, 'config');
    expect(unfrozen).toEqual([]);
    expect(() => ((config as { leaseMs: number }).leaseMs = 1)).toThrow(TypeError);
    expect(() => ((config.loops as { prunerMs: number }).prunerMs = 1)).toThrow(TypeError);
    expect(() => (config.kafkaBrokers as string[]).push('x:1')).toThrow(TypeError);
    expect(() => ((config.rules.policies[0] as { conditions: string }).conditions = 'b')).toThrow(TypeError);
    expect(() => (config.rules.routing![0]!.types as string[]).push('x')).toThrow(TypeError);
    expect(config.loops.prunerMs).toBe(120_000);
  });

  it('parseConfigFile hands out frozen rules too (the engine shares them)', () => {
    const rules = parseConfigFile({ dedup: [{ type: 'mail', fields: ['payload.to'], ttlSeconds: 60 }] });
    expect(Object.isFrozen(rules.dedup![0]!.fields)).toBe(true);
  });
});

describe('bad values are refused at start, named by where they were set', () => {
  it('environment variables: the variable, its value and what it expects', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ DOCKET_LEASE_MS: '50' }, /^DOCKET_LEASE_MS=50: must be a whole number from 100 to 86400000$/],
      [{ PORT: 'http' }, /^PORT=http: must be a whole number from 0 to 65535$/],
      [{ DOCKET_MAX_PAYLOAD_BYTES: '1.5' }, /^DOCKET_MAX_PAYLOAD_BYTES=1.5: must be a whole number/],
      [{ DOCKET_SQLITE_SYNC: 'off' }, /^DOCKET_SQLITE_SYNC=off: must be one of normal, full$/],
      [{ DOCKET_LOG_LEVEL: 'loud' }, /^DOCKET_LOG_LEVEL=loud: must be one of fatal, error/],
      [{ DOCKET_ROLES: 'api,cron' }, /^DOCKET_ROLES=api,cron: roles are a comma-separated subset of api, scheduler, worker$/],
      [{ DOCKET_RATE_LIMIT_TENANT: 'lots' }, /^DOCKET_RATE_LIMIT_TENANT=lots: /],
      [{ DOCKET_KAFKA_BROKERS: 'kafka' }, /^DOCKET_KAFKA_BROKERS=kafka: brokers are a comma-separated list of host:port \("kafka" is not\)$/],
      [{ DOCKET_KAFKA_TOPIC_PREFIX: 'a/b' }, /^DOCKET_KAFKA_TOPIC_PREFIX=a\/b: may hold only/],
      [{ DOCKET_JWT_SECRET: 'short' }, /^DOCKET_JWT_SECRET: must be at least 32 bytes \(got 5\)$/],
      [{ DOCKET_JWT_SECRET: 'x'.repeat(40), DOCKET_JWKS: '/jwks.json' }, /^DOCKET_JWT_SECRET and DOCKET_JWKS are both set/],
      [{ DOCKET_DATABASE_URL: 'postgres://db/docket' }, /^DOCKET_DATABASE_URL is set but DOCKET_REDIS_URL is not/],
      [{ DOCKET_REDIS_URL: 'redis://r' }, /^DOCKET_REDIS_URL is set but DOCKET_DATABASE_URL is not/],
      [{ DOCKET_DATABASE_URL: 'postgres://db/docket', DOCKET_REDIS_URL: 'redis://r' }, /^production mode needs DOCKET_JWT_SECRET or DOCKET_JWKS/],
    ];
    for (const [env, message] of cases) expect(errorOf(() => loadConfig(env)).message, JSON.stringify(env)).toMatch(message);
    // An API-less production process verifies no tokens.
    expect(loadConfig({ DOCKET_DATABASE_URL: 'postgres://db/docket', DOCKET_REDIS_URL: 'redis://r', DOCKET_ROLES: 'scheduler' }).roles.has('api')).toBe(false);
  });

  it('flags: the flag', () => {
    expect(errorOf(() => parseRoles('workers', '--role')).message).toBe('--role=workers: roles are a comma-separated subset of api, scheduler, worker');
  });

  it('file entries: the file and the JSON path of the entry', () => {
    const cases: [unknown, RegExp][] = [
      [{ loops: { relaySeconds: 0 } }, /: \/loops\/relaySeconds: Expected number to be greater or equal to 0.01/],
      [{ loops: { prunerSeconds: 86_401 } }, /: \/loops\/prunerSeconds: Expected number to be less or equal to 86400/],
      [{ loops: { reaperSeconds: 1 } }, /: \/loops\/reaperSeconds: unknown key; expected one of promoterSeconds, expirerSeconds, leaseReaperSeconds, /],
      [{ loops: { expirerSeconds: '1' } }, /: \/loops\/expirerSeconds: Expected number/],
      [{ recovery: { classify: [{ match: { message: '(' }, outcome: 'transient' }] } }, /: \/recovery\/classify\/0\/match\/message: not a regular expression/],
      [{ recovery: { policies: [{ conditions: 'a', probeEverySeconds: 0 }] } }, /: \/recovery\/policies\/0\/probeEverySeconds: Expected number to be greater than 0/],
      [{ retention: { queues: { mail: { failed: { maxAgeSeconds: -1 } } } } }, /: \/retention\/queues\/mail\/failed\/maxAgeSeconds: Expected number to be greater than 0/],
      [{ webhooks: { timeoutSeconds: 301 } }, /: \/webhooks\/timeoutSeconds: Expected number to be less or equal to 300/],
      [{ alerts: { evaluateEverySeconds: 0.5, rules: [] } }, /: \/alerts\/evaluateEverySeconds: Expected number to be greater or equal to 1/],
      [{ alerts: { rules: [{ kind: 'queue-depth', name: 'a', queue: 'q', above: -1 }] } }, /: \/alerts\/rules\/0\/above: /],
      [{ dedup: [{ type: 'mail', fields: ['body'], ttlSeconds: 60 }] }, /: dedup\[0\]\.fields\[0\]: /],
      [{ fairness: { mail: { tenants: { acme: { maxRunning: 0 } } } } }, /: \/fairness\/mail\/tenants\/acme\/maxRunning: /],
      [{ routing: [{ types: ['a'], queue: 'no spaces' }] }, /: \/routing\/0\/queue: /],
      [{ ingest: { topics: ['orders'], rules: [] } }, /: \/ingest\/topics: consuming orders needs Kafka/],
      [{ schedules: [] }, /: \/schedules: unknown key; expected one of recovery, retention, ingest, webhooks, dedup, alerts, fairness, routing, loops, kafka$/],
      [{ retention: { default: { succeded: {} } } }, /: \/retention\/default\/succeded: unknown key; expected one of succeeded, failed, cancelled, expired$/],
    ];
    for (const [content, message] of cases) {
      const file = fileOf(content);
      const err = errorOf(() => loadConfig({ DOCKET_CONFIG: file }));
      expect(err.message, JSON.stringify(content)).toMatch(message);
      expect(err.message.startsWith(`${file}: `), err.message).toBe(true);
    }
    expect(errorOf(() => loadConfig({ DOCKET_CONFIG: join(dir, 'missing.json') })).message).toMatch(/missing\.json: ENOENT/);
  });

  it('a bad name in the dedup and alerts sections is told it is not a valid name, never shown the raw pattern', () => {
    const cases: [unknown, string][] = [
      [{ dedup: [{ type: 'send mail', fields: ['payload.to'], ttlSeconds: 60 }] }, 'dedup[0].type: "send mail" is not a valid name'],
      [{ dedup: [{ type: 'mail', queue: '-x', fields: ['payload.to'], ttlSeconds: 60 }] }, 'dedup[0].queue: "-x" is not a valid name'],
      [{ alerts: { rules: [{ kind: 'queue-depth', name: 'deep queue', queue: 'mail', above: 1 }] } }, '/alerts/rules/0/name: "deep queue" is not a valid name'],
      [{ alerts: { rules: [{ kind: 'queue-depth', name: 'deep', queue: 'mail!', above: 1 }] } }, '/alerts/rules/0/queue: "mail!" is not a valid name'],
    ];
    for (const [content, message] of cases) {
      const err = errorOf(() => parseConfigFile(content, 'docket.json'));
      expect(err.message).toBe(`docket.json: ${message} (letters, digits and _ . : -, up to 128, starting with a letter or digit)`);
    }
  });

  it('`docket server` prints the entry and exits 2 before opening anything', async () => {
    const file = fileOf({ loops: { leaseReaperSeconds: 0.001 } });
    const run = promisify(execFile);
    const err = (await run('node', ['bin/docket', 'server', '--config', file], { env: cleanEnv({ DOCKET_DATA_DIR: join(dir, 'never') }), timeout: 30_000 }).catch((e: unknown) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(existsSync(join(dir, 'never'))).toBe(false);
    expect(err.stderr).toContain(`docket: configuration: ${file}: /loops/leaseReaperSeconds: Expected number to be greater or equal to 0.01`);
  });
});

describe('the webhooks section is the delivery policy over the defaults', () => {
  it('each setting is carried into the policy, times in ms', () => {
    const webhooks = { disableAfterFailures: 50, maxAttempts: 8, concurrency: 4, timeoutSeconds: 2.5, allowPrivateNetworks: ['10.0.0.0/8', '::1'], backoff: { initialSeconds: 0.5, maxSeconds: 600 } };
    expect(loadConfig({ DOCKET_CONFIG: fileOf({ webhooks }) }).rules.webhooks).toEqual({
      disableAfterFailures: 50,
      maxAttempts: 8,
      concurrency: 4,
      timeoutMs: 2500,
      allowPrivateNetworks: ['10.0.0.0/8', '::1'],
      backoff: { initialMs: 500, maxMs: 600_000 },
    });
  });

  it('a setting the section leaves out stays the default: it is absent from the policy', () => {
    expect(parseConfigFile({ webhooks: { backoff: { maxSeconds: 60 } } }).webhooks).toEqual({ backoff: { maxMs: 60_000 } });
    expect(parseConfigFile({ webhooks: { backoff: { initialSeconds: 2 } } }).webhooks).toEqual({ backoff: { initialMs: 2000 } });
    expect(parseConfigFile({ webhooks: {} }).webhooks).toEqual({});
    expect(parseConfigFile({}).webhooks).toBeUndefined();
  });

  it('an allowed private network that is no address or CIDR: refused, naming the file and the entry', () => {
    const file = fileOf({ webhooks: { allowPrivateNetworks: ['10.0.0.0/8', 'intranet'] } });
    expect(errorOf(() => loadConfig({ DOCKET_CONFIG: file })).message).toBe(`${file}: /webhooks/allowPrivateNetworks/1: "intranet" is not an IP address or CIDR (e.g. 127.0.0.1/32, 10.0.0.0/8, fd00::/8)`);
  });
});

describe('loop intervals set in the file are the ones the loops run at', () => {
  it('the embedded options keep their meaning: maintenanceIntervalMs sets the one-second loops, never the repair scan or pruner below theirs; loops and the file win', () => {
    expect(resolveLoops({ maintenanceIntervalMs: 100, recoveryIntervalMs: 50 })).toEqual({
      ...DEFAULT_LOOPS,
      promoterMs: 100,
      expirerMs: 100,
      leaseReaperMs: 100,
      workerMonitorMs: 100,
      housekeeperMs: 100,
      recoveryMs: 50,
    });
    expect(resolveLoops({ maintenanceIntervalMs: 90_000 })).toMatchObject({ dispatchRepairMs: 90_000, prunerMs: 90_000 });
    expect(resolveLoops({ maintenanceIntervalMs: 100, loops: { expirerMs: 7 } })).toMatchObject({ expirerMs: 7, leaseReaperMs: 100 });
  });


  // The expirer as the witness: a job past its expiresAt changes state only when the expirer runs.
  async function engineWith(file: unknown) {
    const config = loadConfig({ DOCKET_CONFIG: fileOf(file) });
    const clock = new ManualClock();
    const store = new SqliteStore({ path: ':memory:' });
    // As openEngine wires it: the file's rules and the resolved intervals.
    const docket = new Docket({ store, dispatch: new MemoryDispatch(clock), clock, rules: config.rules, loops: config.loops, onError: (e) => { throw e; } });
    await docket.start();
    const [job] = await docket.jobs.submitter.submit([{ type: 'x', expiresAt: new Date(clock.now() + 500).toISOString() }], { tenant: 'default' });
    const state = async () => (await docket.jobs.queries.get(job!.id))!.state;
    return { docket, clock, state };
  }

  it('expirerSeconds: 30 leaves an overdue job alone until 30 s, the default (1 s) expires it at 1 s', async () => {
    const usual = await engineWith({});
    const early = await engineWith({ loops: { expirerSeconds: 30 } });
    const due = await engineWith({ loops: { expirerSeconds: 30 } });
    try {
      usual.clock.advance(1000);
      await until('the default expirer to expire the job', async () => ((await usual.state()) === 'expired' ? true : undefined), 10_000, 10);

      early.clock.advance(29_999);
      // Stopping the expirer waits for a run in flight: had one been due, the job would be expired now.
      await early.docket.expirer.stop();
      expect(await early.state()).toBe('ready');

      due.clock.advance(30_000);
      await until('the configured expirer to expire the job', async () => ((await due.state()) === 'expired' ? true : undefined), 10_000, 10);
    } finally {
      await Promise.all([usual, early, due].map((e) => e.docket.stop()));
    }
  });
});
