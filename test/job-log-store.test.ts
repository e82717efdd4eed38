import { PostgresJobLogStore } from '../src/adapters/postgres/postgres-job-log-store.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { SqliteJobLogStore } from '../src/adapters/sqlite/sqlite-job-log-store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { describeJobLogStoreConformance } from './conformance/job-log-store-conformance.js';
import { openTestSchema } from './helpers/postgres.js';

describeJobLogStoreConformance('sqlite', async () => {
  const store = new SqliteStore({ path: ':memory:' });
  await store.migrate();
  return { store: new SqliteJobLogStore(store.db), cleanup: () => store.close() };
});

describeJobLogStoreConformance('postgres (schema per test)', async () => {
  const { connectionString, schema, drop } = await openTestSchema();
  const store = new PostgresStore({ connectionString, schema, max: 2 });
  await store.migrate();
  return {
    store: new PostgresJobLogStore(store.pool),
    async cleanup() {
      await store.close();
      await drop();
    },
  };
});
