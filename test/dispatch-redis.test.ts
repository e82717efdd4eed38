import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import { describeDispatchConformance } from './conformance/dispatch-conformance.js';
import { settles } from './helpers/process.js';
import { openTestPrefix } from './helpers/redis.js';

// Every test gets its own key prefix on the shared Redis; peers share it, as processes would.
describeDispatchConformance('redis', async (fairness) => {
  const { url, prefix, cleanup } = await openTestPrefix();
  const clock = new ManualClock();
  return {
    dispatch: new RedisDispatch({ url, prefix, clock, ...(fairness ? { fairness } : {}) }),
    clock,
    peer: async () => new RedisDispatch({ url, prefix, clock, ...(fairness ? { fairness } : {}) }),
    cleanup,
  };
});

// The levels mask (lib.lua) is kept beside the ready index; an index written before it was kept
// (an upgrade with jobs ready in Redis) has rings but no mask, and must hand its jobs out all the same.
describe('Redis dispatch: an index without its levels mask', () => {
  const opened: { dispatch: RedisDispatch; redis: Redis; cleanup: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) {
      await o.dispatch.close();
      await o.redis.quit();
      await o.cleanup();
    }
  });

  it('hands out every ready job, by priority, across many queues, and keeps serving after', async () => {
    const { url, prefix, cleanup } = await openTestPrefix();
    const dispatch = new RedisDispatch({ url, prefix, clock: new ManualClock() });
    const redis = new Redis(url);
    opened.push({ dispatch, redis, cleanup });
    const names = Array.from({ length: 30 }, (_, i) => `q${i}`);
    const at = Date.UTC(2026, 0, 1);
    await dispatch.enqueue(names.map((queue, i) => ({ id: `0000-${String(i).padStart(3, '0')}`, queue, tenant: 't', priority: 1 + (i % 3), dueAt: at })));
    await redis.del(`${prefix}levels`);
    expect(await settles(dispatch.waitForWork(names, 60_000), 1_000)).toBe(true);
    const taken = await dispatch.take({ queues: names, max: 100 });
    expect(taken).toHaveLength(30);
    expect(taken.map((e) => e.priority)).toEqual(taken.map((e) => e.priority).sort((a, b) => a - b));
    await dispatch.enqueue([{ id: '0001-000', queue: 'q5', tenant: 't', priority: 4, dueAt: at }]);
    expect((await dispatch.take({ queues: names, max: 100 })).map((e) => e.id)).toEqual(['0001-000']);
  });
});
