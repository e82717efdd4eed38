// The two real deployments an engine-level test runs on: embedded (SQLite, in-memory dispatch) and
// production (PostgreSQL + Redis, each test its own schema and key prefix).
import { Redis } from 'ioredis';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { RedisDispatch } from '../../src/adapters/redis/redis-dispatch.js';
import { Docket, openEmbedded } from '../../src/app/docket.js';
import { openTestSchema } from './postgres.js';
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
