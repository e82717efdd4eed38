import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.DOCKET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  connectionString: string;
  /** A fresh schema, e.g. `docket_test_<32 hex>`, so tests never see each other's tables. */
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** Creates an empty, uniquely named schema on the test database (never touches `public`). */
export async function openTestSchema(): Promise<TestSchema> {
  const schema = `docket_test_${randomUUID().replace(/-/g, '')}`;
  await run(`CREATE SCHEMA "${schema}"`);
  return {
    connectionString: TEST_DATABASE_URL,
    schema,
    drop: () => run(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
}

/** One statement on a short-lived connection of its own, so no store's pool is involved. */
async function run(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
