import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { describeStoreConformance } from './conformance/store-conformance.js';

describeStoreConformance('sqlite (temp file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'docket-store-'));
  const store = new SqliteStore({ path: join(dir, 'docket.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
