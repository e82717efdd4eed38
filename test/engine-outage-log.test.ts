// Which errors are engine outages (503 + Retry-After, logged once per outage), read from the real
// clients failing against a port nothing listens on; and the outage log's once-per-outage rule.
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { OutageLog, outageOf } from '../src/adapters/engine-outage.js';
import { freePort, until } from './helpers/process.js';

describe('outageOf', () => {
  it('names PostgreSQL for a refused connection and a server going away', async () => {
    const port = await freePort();
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/none` });
    pool.on('error', () => {});
    const refused = await pool.query('SELECT 1').catch((e: unknown) => e);
    await pool.end();
    expect(outageOf(refused)).toBe('PostgreSQL');
    expect(outageOf(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe('PostgreSQL');
    expect(outageOf(new Error('Connection terminated unexpectedly'))).toBe('PostgreSQL');
  });

  it('names Redis for a command that outlived its reconnect attempts', async () => {
    const port = await freePort();
    const redis = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    redis.on('error', () => {});
    const failed = await redis.get('k').catch((e: unknown) => e);
    redis.disconnect();
    expect(outageOf(failed)).toBe('Redis');
  });

  it('names nothing for bugs and bad input', () => {
    expect(outageOf(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBeNull();
    expect(outageOf(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBeNull();
    expect(outageOf('a string')).toBeNull();
  });
});

describe('OutageLog', () => {
  it('logs the first error of an outage, counts the rest, and says once when the engine is back', async () => {
    const logged: unknown[] = [];
    const recovered: [string, number][] = [];
    let up = false;
    const log = new OutageLog({
      onError: (err) => logged.push(err),
      onRecovered: (engine, _ms, suppressed) => recovered.push([engine, suppressed]),
      probes: { PostgreSQL: async () => (up ? undefined : Promise.reject(new Error('down'))) },
      probeMs: 10,
    });
    for (let i = 0; i < 50; i++) log.report(new Error('Connection terminated unexpectedly'));
    log.report(new TypeError('a bug'));
    expect(logged.map((e) => (e as Error).message)).toEqual(['Connection terminated unexpectedly', 'a bug']);
    up = true;
    await until('the recovery line', () => (recovered.length > 0 ? true : undefined), 5000, 5);
    expect(recovered).toEqual([['PostgreSQL', 49]]);
    // A new outage is a new first error.
    log.report(new Error('Connection terminated unexpectedly'));
    expect(logged).toHaveLength(3);
    log.close();
  });
});
