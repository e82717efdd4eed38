// The RateLimiter port on both adapters: the same token-bucket answers in memory and in Redis,
// and Redis buckets are shared by every process that uses the same prefix.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../src/adapters/memory/memory-rate-limiter.js';
import { RedisRateLimiter } from '../src/adapters/redis/redis-rate-limiter.js';
import { parseRateRule } from '../src/domain/token-bucket.js';
import type { RateLimiter } from '../src/ports/rate-limiter.js';
import { openTestPrefix, type TestPrefix } from './helpers/redis.js';

const T0 = 1_800_000_000_000;
const rule = { perSecond: 2, burst: 5 };
let open: RateLimiter[] = [];
let prefix: TestPrefix | undefined;

afterEach(async () => {
  await Promise.all(open.map((l) => l.close()));
  open = [];
  await prefix?.cleanup();
  prefix = undefined;
});

const adapters: Record<string, () => Promise<() => RateLimiter>> = {
  memory: async () => {
    const one = new MemoryRateLimiter();
    return () => one;
  },
  redis: async () => {
    prefix = await openTestPrefix();
    return () => {
      const l = new RedisRateLimiter({ url: prefix!.url, prefix: prefix!.prefix });
      open.push(l);
      return l;
    };
  },
};

for (const [name, make] of Object.entries(adapters)) {
  describe(`RateLimiter: ${name}`, () => {
    it('allows a burst, refuses the next with the wait until a token, refills at the rate', async () => {
      const limiter = (await make())();
      const first = [];
      for (let i = 0; i < 6; i++) first.push(await limiter.take('tenant:a', rule, T0));
      expect(first.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      expect(first.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect(first[5]).toMatchObject({ limit: 5, retryAfterMs: 500, resetMs: 2500 });
      expect((await limiter.take('tenant:a', rule, T0 + 499)).allowed).toBe(false);
      expect((await limiter.take('tenant:a', rule, T0 + 1000)).allowed).toBe(true);
      // Another key has its own bucket.
      expect((await limiter.take('tenant:b', rule, T0)).remaining).toBe(4);
      // Idle long enough, the bucket is full again, never fuller.
      expect((await limiter.take('tenant:a', rule, T0 + 60_000)).remaining).toBe(4);
    });

    it("never moves a bucket's time back: a caller whose clock is behind earns nothing, and the next caller ahead is not paid the skew", async () => {
      const limiter = (await make())();
      for (let i = 0; i < 5; i++) expect((await limiter.take('tenant:a', rule, T0 + 1000)).allowed).toBe(true);
      expect(await limiter.take('tenant:a', rule, T0)).toMatchObject({ allowed: false, retryAfterMs: 500 });
      expect((await limiter.take('tenant:a', rule, T0 + 1000)).allowed).toBe(false);
      expect((await limiter.take('tenant:a', rule, T0 + 1499)).allowed).toBe(false);
      expect((await limiter.take('tenant:a', rule, T0 + 1500)).allowed).toBe(true);
    });

    it('gives the same answers as the other adapter for a random request pattern', async () => {
      const limiter = (await make())();
      const reference = new MemoryRateLimiter();
      let now = T0;
      let seed = 7;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let i = 0; i < 200; i++) {
        now += Math.floor(next() * 400);
        const key = next() < 0.5 ? 'k1' : 'k2';
        expect(await limiter.take(key, rule, now)).toEqual(await reference.take(key, rule, now));
      }
    });

    if (name === 'redis') {
      it('shares a bucket between processes (instances) on the same prefix', async () => {
        const make2 = await make();
        const [a, b] = [make2(), make2()];
        const decisions = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).take('tenant:shared', rule, T0)));
        expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
      });
    }
  });
}

describe('rate rules', () => {
  it('parses per second, minute and hour, with or without a burst, and names bad input', () => {
    expect(parseRateRule('100/s')).toEqual({ perSecond: 100, burst: 100 });
    expect(parseRateRule('6000/m:50')).toEqual({ perSecond: 100, burst: 50 });
    expect(parseRateRule('1/h')).toEqual({ perSecond: 1 / 3600, burst: 1 });
    expect(() => parseRateRule('fast')).toThrow(/not a rate/);
    expect(() => parseRateRule('0/s')).toThrow(/above 0/);
  });
});
