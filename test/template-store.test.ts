import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { PostgresTemplateStore } from '../src/adapters/postgres/postgres-template-store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SqliteTemplateStore } from '../src/adapters/sqlite/sqlite-template-store.js';
import { describeTemplateStoreConformance } from './conformance/template-store-conformance.js';
import { openTestSchema } from './helpers/postgres.js';

/** The template store contract on both engines: a temp SQLite file, a fresh PostgreSQL schema. */

describeTemplateStoreConformance('sqlite (temp file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'docket-templates-'));
  const store = new SqliteStore({ path: join(dir, 'docket.db') });
  return {
    store,
    templates: new SqliteTemplateStore(store),
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeTemplateStoreConformance('postgres (schema per test)', async () => {
  const { connectionString, schema, drop } = await openTestSchema();
  const store = new PostgresStore({ connectionString, schema, max: 4 });
  return {
    store,
    templates: new PostgresTemplateStore(store),
    async cleanup() {
      await store.close();
      await drop();
    },
  };
});
