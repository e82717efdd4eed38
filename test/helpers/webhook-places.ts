// Where a webhook test's engine keeps its data, on each store: reopening the same place is a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../src/adapters/clock/system-clock.js';
import { MemoryDispatch } from '../../src/adapters/memory/memory-dispatch.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { Docket, openEmbedded } from '../../src/app/docket.js';
import type { WebhookOptions } from '../../src/services/webhooks/webhooks.js';
import { openTestSchema } from './postgres.js';

export interface Place {
  open(webhooks: WebhookOptions): Promise<Docket>;
  cleanup(): Promise<void>;
}

/** A SQLite file in a temporary directory, and a PostgreSQL schema of its own. */
export const PLACES: Record<string, () => Promise<Place>> = {
  'sqlite file': async () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-webhooks-'));
    return {
      open: (webhooks) => openEmbedded({ path: join(dir, 'docket.db'), leaseMs: 5000, webhooks }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  'postgres schema': async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    return {
      async open(webhooks) {
        const clock = new SystemClock();
        const docket = new Docket({ store: new PostgresStore({ connectionString, schema, max: 4 }), dispatch: new MemoryDispatch(clock), clock, leaseMs: 5000, webhooks });
        await docket.start();
        return docket;
      },
      cleanup: drop,
    };
  },
};
