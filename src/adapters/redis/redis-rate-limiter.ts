import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { RateDecision, RateRule } from '../../domain/token-bucket.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';

export interface RedisRateLimiterOptions {
  url?: string;
  /** An existing client to share; never closed by us. */
  redis?: Redis;
  /** @defaultValue 'docket:' */
  prefix?: string;
}

type Client = Redis & { docketRateLimit(key: string, now: number, perSecond: number, burst: number): Promise<[number, number, number, number]> };

/**
 * Token buckets shared by every API process through Redis: one Lua script per request, so a
 * tenant's limit holds across the cluster. Buckets expire once full; losing them (Redis restart)
 * only hands out fresh bursts.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly client: Client;
  private readonly owns: boolean;
  private readonly prefix: string;

  constructor(options: RedisRateLimiterOptions = {}) {
    this.owns = !options.redis;
    const redis = options.redis ?? new Redis(options.url ?? 'redis://127.0.0.1:6379');
    if (this.owns) redis.on('error', () => {});
    redis.defineCommand('docketRateLimit', { numberOfKeys: 1, lua: readFileSync(new URL('./lua/rate-limit.lua', import.meta.url), 'utf8') });
    this.client = redis as Client;
    this.prefix = options.prefix ?? 'docket:';
  }

  async take(key: string, rule: RateRule, now: number): Promise<RateDecision> {
    const [allowed, remaining, resetMs, retryAfterMs] = await this.client.docketRateLimit(`${this.prefix}rate:${key}`, now, rule.perSecond, rule.burst);
    return { allowed: allowed === 1, limit: rule.burst, remaining, resetMs, retryAfterMs };
  }

  async close(): Promise<void> {
    if (this.owns) await this.client.quit().catch(() => {});
  }
}
