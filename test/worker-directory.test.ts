import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryWorkerDirectory } from '../src/adapters/memory/memory-worker-directory.js';
import { RedisWorkerDirectory } from '../src/adapters/redis/redis-worker-directory.js';
import { describeWorkerDirectoryConformance } from './conformance/worker-directory-conformance.js';
import { openTestPrefix, type TestPrefix } from './helpers/redis.js';

describeWorkerDirectoryConformance('memory', async ({ heartbeatTimeoutMs }) => {
  const clock = new ManualClock();
  return { directory: new MemoryWorkerDirectory(clock, heartbeatTimeoutMs), clock, cleanup: async () => {} };
});

// Every test gets its own key prefix on the shared Redis; peers share it, as processes would.
describeWorkerDirectoryConformance('redis', async (options) => {
  const { url, prefix, cleanup } = await openTestPrefix();
  const clock = new ManualClock();
  return {
    directory: new RedisWorkerDirectory({ url, prefix, clock, ...options }),
    clock,
    peer: async (over) => new RedisWorkerDirectory({ url, prefix, clock, ...options, ...over }),
    expires: true,
    cleanup,
  };
});

describe('redis worker directory: keys and clients', () => {
  let test: TestPrefix | undefined;
  const opened: { close(): Promise<unknown> }[] = [];

  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    await test?.cleanup();
    test = undefined;
  });

  it('keeps a hash per worker with a time to live, and a set scored by the last heartbeat', async () => {
    test = await openTestPrefix();
    const clock = new ManualClock();
    const dir = new RedisWorkerDirectory({ url: test.url, prefix: test.prefix, clock });
    const redis = new Redis(test.url);
    opened.push(dir, { close: () => redis.quit() });

    const id = await dir.register({ queues: ['q'], name: 'w' });
    const key = `${test.prefix}worker:${id}`;
    expect(await redis.hget(key, 'status')).toBe('active');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(300_000);
    expect(await redis.zscore(`${test.prefix}workers`, id)).toBe(String(clock.now()));

    clock.advance(7_000);
    await dir.touch(id);
    expect(await redis.zscore(`${test.prefix}workers`, id)).toBe(String(clock.now()));
    expect(Number(await redis.hget(key, 'lastHeartbeatAt'))).toBe(clock.now());

    // An id whose hash is gone (expired) leaves the set when listed.
    await redis.del(key);
    expect(await dir.list()).toEqual([]);
    expect(await redis.zscore(`${test.prefix}workers`, id)).toBeNull();
  });

  it('works over a shared client with its own keyPrefix, and leaves that client open', async () => {
    test = await openTestPrefix();
    const clock = new ManualClock();
    // The client prefixes every key itself; scripts building keys must add that prefix too.
    const shared = new Redis(test.url, { keyPrefix: test.prefix });
    opened.push({ close: () => shared.quit() });
    const a = new RedisWorkerDirectory({ redis: shared, prefix: 'a:', clock });
    const b = new RedisWorkerDirectory({ url: test.url, prefix: `${test.prefix}a:`, clock });
    opened.push(b);

    const id = await a.register({ queues: ['q'] });
    expect((await b.get(id))!.id).toBe(id);
    clock.advance(30_001);
    expect((await a.sweep(30_000)).map((w) => w.id)).toEqual([id]);
    expect((await b.get(id))!.status).toBe('lost');

    await a.close();
    expect(await shared.ping()).toBe('PONG');
  });
});
