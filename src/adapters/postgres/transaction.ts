import type pg from 'pg';

/**
 * Runs `work` in a transaction on a connection of `pool`: COMMIT when it resolves, ROLLBACK when it
 * throws. A failed ROLLBACK means the connection is gone: it is dropped from the pool rather than
 * reused.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}
