import type pg from 'pg';

/**
 * Runs `work` in a transaction on a connection of `pool`: COMMIT when it resolves, ROLLBACK when it
 * throws. A failed ROLLBACK means the connection is gone: it is dropped from the pool rather than
 * reused. A connection that breaks mid-transaction (the server crashed) emits 'error' while it is
 * lent out, when the pool does not listen: that is caught here (it would end the process) and the
 * statement in flight fails with it.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
