// The two real deployments an engine-level test runs on: embedded (SQLite, in-memory dispatch) and
// production (PostgreSQL + Redis, each test its own schema and key prefix).
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe } from 'vitest';
import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { RedisDispatch } from '../../src/adapters/redis/redis-dispatch.js';
import { RedisJobCache } from '../../src/adapters/redis/redis-job-cache.js';
import { RedisWorkerDirectory } from '../../src/adapters/redis/redis-worker-directory.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { Docket, embeddedDispatch, openEmbedded, type DocketParts, type EventsOptions } from '../../src/app/docket.js';
import type { FileConfig } from '../../src/config/index.js';
import { fairnessPolicy } from '../../src/domain/fairness.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Dispatch } from '../../src/ports/dispatch.js';
import type { Store } from '../../src/ports/store.js';
import type { WebhookOptions } from '../../src/services/webhooks/webhooks.js';
import { openTestSchema, schemaReset, type TestSchema } from './postgres.js';
import { openTestPrefix, type TestPrefix } from './redis.js';

/** What a test may set on a started engine; the same on both deployments. */
export interface DeploymentOptions {
  maintenanceIntervalMs?: number;
  recoveryIntervalMs?: number;
  /** A claim's lease; production's worker directory takes it as its heartbeat timeout, as the server does. @defaultValue 30 s */
  leaseMs?: number;
  /** How long a worker may go without a heartbeat before it is lost. @defaultValue the lease */
  heartbeatTimeoutMs?: number;
  /** The configuration file's rules; its fairness section reaches the dispatch too, as in production. */
  rules?: FileConfig;
  /** Webhooks' loops and policy, in the deployment's own database. @defaultValue on, the engine's defaults */
  webhooks?: WebhookOptions;
  onError?: (err: unknown) => void;
  /** @defaultValue a system clock */
  clock?: Clock;
  /** Where the relay publishes the event log, and the envelopes' source. @defaultValue no bus, /docket/embedded */
  events?: EventsOptions;
  /** The leader's worker status events; 0: off. @defaultValue 30 s */
  workerStatusIntervalMs?: number;
}

export interface Deployment {
  name: string;
  /** A started Docket (options over the table's); what it holds is released by the cleanup handed to `onCleanup`. */
  open(options?: DeploymentOptions): Promise<Docket>;
}

/** Both deployments; `onCleanup` receives what drops the production schema and key prefix. */
export function deployments(onCleanup: (cleanup: () => Promise<void>) => void, options: DeploymentOptions = {}): Deployment[] {
  return [
    { name: 'embedded (SQLite)', open: (more = {}) => openEmbedded({ path: ':memory:', ...options, ...more }) },
    {
      name: 'production (PostgreSQL + Redis)',
      async open(more = {}) {
        const { clock = new SystemClock(), ...rest } = { ...options, ...more };
        const schema = await openTestSchema();
        const prefix = await openTestPrefix();
        const redis = new Redis(prefix.url);
        const store = new PostgresStore({ connectionString: schema.connectionString, schema: schema.schema, max: 4 });
        const docket = new Docket({ ...rest, ...redisParts(redis, prefix, clock, rest.heartbeatTimeoutMs ?? rest.leaseMs), store, dispatch: redisDispatch(redis, prefix, clock, rest.rules), clock, schedules: store.companions().schedules });
        await docket.start();
        onCleanup(async () => {
          redis.disconnect();
          await prefix.cleanup();
          await schema.drop();
        });
        return docket;
      },
    },
  ];
}

/** The worker directory and job cache production keeps in Redis, as the server builds them (src/app/engine.ts). */
function redisParts(redis: Redis, prefix: TestPrefix, clock: Clock, leaseMs: number | undefined): Pick<DocketParts, 'workers' | 'cache'> {
  return {
    workers: new RedisWorkerDirectory({ redis, clock, prefix: prefix.prefix, heartbeatTimeoutMs: leaseMs ?? 30_000 }),
    cache: new RedisJobCache({ redis, prefix: prefix.prefix }),
  };
}

/** The production dispatch, with the fairness of the rules as the server gives it (src/app/engine.ts). */
function redisDispatch(redis: Redis, prefix: TestPrefix, clock: Clock, rules: FileConfig | undefined): RedisDispatch {
  return new RedisDispatch({ redis, prefix: prefix.prefix, clock, fairness: fairnessPolicy(rules?.fairness) });
}

/** An engine on a manual clock whose loops are not started: the test runs each loop's `runOnce`. */
export interface ManualEngine {
  docket: Docket;
  clock: ManualClock;
  store: Store;
  dispatch: Dispatch;
  service: Docket['jobs'];
  /** Stops the engine and drops its dispatch state. */
  close(): Promise<void>;
}

/** What a test may set on a manual engine; the same on both deployments. */
export interface ManualOptions {
  leaseMs?: number;
  /** The configuration file's rules; its fairness section reaches the dispatch too. */
  rules?: FileConfig;
  maxPayloadBytes?: number;
  /** The recovery loop's interval: its release bucket holds two runs' worth. @defaultValue 250 ms */
  recoveryIntervalMs?: number;
}

export interface ManualDeployment {
  name: string;
  /**
   * An engine on an empty store and dispatch of its own (options over the deployment's). Production
   * engines share one schema, emptied for each (so open one at a time), and each has a key prefix of its own.
   */
  open(options?: ManualOptions): Promise<ManualEngine>;
  /** Drops what the engines shared (the production schema). */
  cleanup(): Promise<void>;
}

/** A Docket on a manual clock: no jitter, errors of a loop thrown, schedules on the store's tables. */
function manualDocket(clock: ManualClock, store: SqliteStore | PostgresStore, dispatch: Dispatch, options: ManualOptions, parts: Pick<DocketParts, 'workers' | 'cache'> = {}): Docket {
  return new Docket({
    ...parts,
    store,
    dispatch,
    clock,
    leaseMs: options.leaseMs ?? 30_000,
    random: () => 0.5,
    onError: (e) => {
      throw e;
    },
    schedules: store.companions().schedules,
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}),
    ...(options.recoveryIntervalMs ? { recoveryIntervalMs: options.recoveryIntervalMs } : {}),
  });
}

/** A production engine on a migrated schema and a key prefix, which it may share with other nodes. */
function manualProductionEngine(schema: TestSchema, prefix: TestPrefix, options: ManualOptions, dropPrefix: boolean): ManualEngine {
  const redis = new Redis(prefix.url);
  const clock = new ManualClock();
  const store = new PostgresStore({ connectionString: schema.connectionString, schema: schema.schema, max: 2 });
  const dispatch = redisDispatch(redis, prefix, clock, options.rules);
  const docket = manualDocket(clock, store, dispatch, options, redisParts(redis, prefix, clock, options.leaseMs));
  const close = async () => {
    await docket.close();
    redis.disconnect();
    if (dropPrefix) await prefix.cleanup();
  };
  return { docket, clock, store, dispatch, service: docket.jobs, close };
}

/** Both deployments as manual engines. */
export function manualDeployments(options: ManualOptions = {}): ManualDeployment[] {
  let shared: { schema: TestSchema; reset: () => Promise<void> } | null = null;
  return [
    {
      name: 'embedded (SQLite + memory dispatch)',
      async open(more = {}) {
        const o = { ...options, ...more };
        const clock = new ManualClock();
        const store = new SqliteStore({ path: ':memory:' });
        // A window of 3 entries per bucket: every engine test here also runs the paging of the backlog.
        const dispatch = embeddedDispatch(clock, store, fairnessPolicy(o.rules?.fairness), 3);
        const docket = manualDocket(clock, store, dispatch, o);
        await store.migrate();
        return { docket, clock, store, dispatch, service: docket.jobs, close: () => docket.close() };
      },
      async cleanup() {},
    },
    {
      name: 'production (PostgreSQL + Redis)',
      async open(more = {}) {
        if (shared) {
          await shared.reset();
        } else {
          const fresh = await openTestSchema();
          await migrate(fresh);
          shared = { schema: fresh, reset: await schemaReset(fresh) };
        }
        return manualProductionEngine(shared.schema, await openTestPrefix(), { ...options, ...more }, true);
      },
      async cleanup() {
        await shared?.schema.drop();
        shared = null;
      },
    },
  ];
}

/**
 * A production cluster of `nodes` manual engines on one fresh schema and one key prefix, as several
 * API processes share them; each node has a clock of its own. `cleanup` closes them and drops both.
 */
export async function manualProductionCluster(nodes: number, options: ManualOptions = {}): Promise<{ engines: ManualEngine[]; cleanup: () => Promise<void> }> {
  const schema = await openTestSchema();
  const prefix = await openTestPrefix();
  await migrate(schema);
  const engines = Array.from({ length: nodes }, () => manualProductionEngine(schema, prefix, options, false));
  return {
    engines,
    async cleanup() {
      for (const e of engines) await e.close();
      await prefix.cleanup();
      await schema.drop();
    },
  };
}

async function migrate(schema: TestSchema): Promise<void> {
  const store = new PostgresStore({ connectionString: schema.connectionString, schema: schema.schema, max: 1 });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
}

/**
 * Declares `body`'s tests once per deployment, each group in a describe named after it. `open()`
 * in a test gives an engine of that deployment (options over the given ones), closed after the test.
 */
export function describeOnManualDeployments(options: ManualOptions, body: (open: (more?: ManualOptions) => Promise<ManualEngine>) => void): void {
  for (const deployment of manualDeployments(options)) {
    describe(deployment.name, () => {
      const opened: ManualEngine[] = [];
      afterEach(async () => {
        for (const e of opened.splice(0)) await e.close();
      });
      afterAll(() => deployment.cleanup());
      body(async (more) => {
        const e = await deployment.open(more);
        opened.push(e);
        return e;
      });
    });
  }
}
