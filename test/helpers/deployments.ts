// The two real deployments an engine-level test runs on: embedded (SQLite, in-memory dispatch) and
// production (PostgreSQL + Redis, each test its own schema and key prefix).
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe } from 'vitest';
import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { MemoryDispatch } from '../../src/adapters/memory/memory-dispatch.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { RedisDispatch } from '../../src/adapters/redis/redis-dispatch.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { Docket, openEmbedded } from '../../src/app/docket.js';
import type { FileConfig } from '../../src/config/index.js';
import type { Dispatch } from '../../src/ports/dispatch.js';
import type { Store } from '../../src/ports/store.js';
import { openTestSchema, schemaReset, type TestSchema } from './postgres.js';
import { openTestPrefix } from './redis.js';

export interface Deployment {
  name: string;
  /** A started Docket; what it holds is released by the cleanup handed to `onCleanup`. */
  open(): Promise<Docket>;
}

/** Both deployments; `onCleanup` receives what drops the production schema and key prefix. */
export function deployments(onCleanup: (cleanup: () => Promise<void>) => void, options: { maintenanceIntervalMs?: number } = {}): Deployment[] {
  return [
    { name: 'embedded (SQLite)', open: () => openEmbedded({ path: ':memory:', ...options }) },
    {
      name: 'production (PostgreSQL + Redis)',
      async open() {
        const schema = await openTestSchema();
        const prefix = await openTestPrefix();
        const redis = new Redis(prefix.url);
        const clock = new SystemClock();
        const store = new PostgresStore({ connectionString: schema.connectionString, schema: schema.schema, max: 4 });
        const docket = new Docket({ store, dispatch: new RedisDispatch({ redis, prefix: prefix.prefix, clock }), clock, ...options });
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

export interface ManualDeployment {
  name: string;
  /**
   * An engine on an empty store and dispatch of its own. Production engines share one schema,
   * emptied for each (so open one at a time), and each has a key prefix of its own.
   */
  open(): Promise<ManualEngine>;
  /** Drops what the engines shared (the production schema). */
  cleanup(): Promise<void>;
}

/** Both deployments as manual engines. */
export function manualDeployments(options: { leaseMs?: number; rules?: FileConfig; maxPayloadBytes?: number } = {}): ManualDeployment[] {
  const engine = (clock: ManualClock, store: Store, dispatch: Dispatch) =>
    new Docket({ store, dispatch, clock, leaseMs: options.leaseMs ?? 30_000, random: () => 0.5, onError: (e) => { throw e; }, ...(options.rules ? { rules: options.rules } : {}), ...(options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {}) });
  let schema: { schema: TestSchema; reset: () => Promise<void> } | null = null;
  return [
    {
      name: 'embedded (SQLite + memory dispatch)',
      async open() {
        const clock = new ManualClock();
        const store = new SqliteStore({ path: ':memory:' });
        const dispatch = new MemoryDispatch(clock);
        const docket = engine(clock, store, dispatch);
        await store.migrate();
        return { docket, clock, store, dispatch, service: docket.jobs, close: () => docket.close() };
      },
      async cleanup() {},
    },
    {
      name: 'production (PostgreSQL + Redis)',
      async open() {
        const prefix = await openTestPrefix();
        const redis = new Redis(prefix.url);
        const clock = new ManualClock();
        let store: PostgresStore;
        if (schema) {
          await schema.reset();
          store = new PostgresStore({ connectionString: schema.schema.connectionString, schema: schema.schema.schema, max: 2 });
        } else {
          const fresh = await openTestSchema();
          store = new PostgresStore({ connectionString: fresh.connectionString, schema: fresh.schema, max: 2 });
          await store.migrate();
          schema = { schema: fresh, reset: await schemaReset(fresh) };
        }
        const dispatch = new RedisDispatch({ redis, prefix: prefix.prefix, clock });
        const docket = engine(clock, store, dispatch);
        const close = async () => {
          await docket.close();
          redis.disconnect();
          await prefix.cleanup();
        };
        return { docket, clock, store, dispatch, service: docket.jobs, close };
      },
      async cleanup() {
        await schema?.schema.drop();
        schema = null;
      },
    },
  ];
}

/**
 * Declares `body`'s tests once per deployment, each group in a describe named after it. `open()`
 * in a test gives an engine of that deployment (options as manualDeployments), closed after the test.
 */
export function describeOnManualDeployments(options: Parameters<typeof manualDeployments>[0], body: (open: () => Promise<ManualEngine>) => void): void {
  for (const deployment of manualDeployments(options)) {
    describe(deployment.name, () => {
      const opened: ManualEngine[] = [];
      afterEach(async () => {
        for (const e of opened.splice(0)) await e.close();
      });
      afterAll(() => deployment.cleanup());
      body(async () => {
        const e = await deployment.open();
        opened.push(e);
        return e;
      });
    });
  }
}
