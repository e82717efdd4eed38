import { takeToken, type BucketState, type RateDecision, type RateRule } from '../../domain/token-bucket.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';

/** Buckets of one process. Full buckets are dropped now and then so idle keys cost nothing. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, BucketState & { rule: RateRule }>();
  private lastSweep = 0;

  async take(key: string, rule: RateRule, now: number): Promise<RateDecision> {
    const { state, decision } = takeToken(this.buckets.get(key), rule, now);
    this.buckets.set(key, { ...state, rule });
    if (now - this.lastSweep > 60_000) this.sweep(now);
    return decision;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * b.rule.perSecond >= b.rule.burst) this.buckets.delete(key);
    }
  }
}
