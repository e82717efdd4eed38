// The webhook store's contract on both engines: SQLite (in memory) and PostgreSQL (a schema per test).
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { PostgresWebhookStore } from '../src/adapters/postgres/postgres-webhook-store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SqliteWebhookStore } from '../src/adapters/sqlite/sqlite-webhook-store.js';
import { describeWebhookStoreConformance } from './conformance/webhook-store-conformance.js';
import { openTestSchema } from './helpers/postgres.js';

describeWebhookStoreConformance('sqlite (in memory)', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  return { store, webhooks: new SqliteWebhookStore(store.db), cleanup: () => store.close() };
});

describeWebhookStoreConformance('postgres (schema per test)', async () => {
  const { connectionString, schema, drop } = await openTestSchema();
  const store = new PostgresStore({ connectionString, schema, max: 3 });
  return {
    store,
    webhooks: new PostgresWebhookStore(store.pool),
    async cleanup() {
      await store.close();
      await drop();
    },
  };
});
