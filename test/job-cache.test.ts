// The finished-jobs cache of production mode, on the real Redis: reads of finished jobs are served
// from it, unfinished jobs never are, and a cache that fails only costs a store read.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { RedisJobCache } from '../src/adapters/redis/redis-job-cache.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { Docket } from '../src/app/docket.js';
import { openTestPrefix, type TestPrefix } from './helpers/redis.js';

let prefix: TestPrefix | undefined;
let redis: Redis | undefined;

afterEach(async () => {
  await prefix?.cleanup();
  redis?.disconnect();
  prefix = redis = undefined;
});

async function engine() {
  prefix = await openTestPrefix();
  redis = new Redis(prefix.url);
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ':memory:' });
  const docket = new Docket({ store, dispatch: new MemoryDispatch(clock), clock, cache: new RedisJobCache({ redis, prefix: prefix.prefix }) });
  await store.migrate();
  return { docket, store, service: docket.jobs };
}

describe('finished-jobs cache (Redis)', () => {
  it('serves finished jobs from Redis for an hour, and never caches unfinished ones', async () => {
    const { store, service } = await engine();
    const [job] = await service.submitter.submit([{ type: 'x', payload: { n: 1 } }], { tenant: 't' });
    expect((await service.queries.get(job!.id))!.state).toBe('ready');
    expect(await redis!.exists(`${prefix!.prefix}job:${job!.id}`)).toBe(0);

    const [run] = await service.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
    expect((await service.outcomes.complete(run!.id, run!.leaseToken!, { ok: true })).ok).toBe(true);
    await service.outcomes.drain();
    const done = await service.queries.get(job!.id);
    expect(done).toMatchObject({ state: 'succeeded', result: { ok: true }, payload: { n: 1 } });
    const ttl = await redis!.ttl(`${prefix!.prefix}job:${job!.id}`);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);

    // Served from the cache: the store is no longer asked (closing it would make a read fail).
    await store.close();
    expect(await service.queries.get(job!.id)).toEqual(done);
  });

  it('reads the store when the cache is unreachable', async () => {
    const { service } = await engine();
    const [job] = await service.submitter.submit([{ type: 'x' }], { tenant: 't' });
    await service.cancels.cancel(job!.id);
    redis!.disconnect();
    expect((await service.queries.get(job!.id))!.state).toBe('cancelled');
  });
});
