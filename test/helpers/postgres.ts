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

/**
 * What puts a migrated schema back as it was when this was called: every table emptied but the
 * migrations' own, and the rows the migrations seeded (event cursors...) written again. Much
 * cheaper than a fresh schema per test (its ~15 migrations take ~1 s on the shared machine);
 * nothing may use the schema while it runs.
 */
export async function schemaReset(schema: TestSchema): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: schema.connectionString });
  await client.connect();
  const q = (name: string) => `"${schema.schema}"."${name}"`;
  let tables: string[];
  const seeds: { table: string; rows: unknown[] }[] = [];
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' AND table_name <> 'docket_migrations'",
      [schema.schema],
    );
    tables = rows.map((r) => r.name);
    for (const table of tables) {
      const { rows: seeded } = await client.query<{ rows: unknown[] | null }>(`SELECT json_agg(t) AS rows FROM ${q(table)} t`);
      if (seeded[0]?.rows) seeds.push({ table, rows: seeded[0].rows });
    }
  } finally {
    await client.end();
  }
  const sql = [
    `TRUNCATE ${tables.map(q).join(', ')} RESTART IDENTITY CASCADE`,
    ...seeds.map((s) => `INSERT INTO ${q(s.table)} SELECT * FROM json_populate_recordset(null::${q(s.table)}, '${JSON.stringify(s.rows).replace(/'/g, "''")}')`),
  ].join(';\n');
  return () => run(sql);
}
