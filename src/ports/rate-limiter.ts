import type { RateDecision, RateRule } from '../domain/token-bucket.js';

/**
 * Token buckets by key (`tenant:acme`, `token:<jti>`). In memory for one process; shared (Redis)
 * when several processes serve the API, so a tenant's limit holds across all of them.
 */
export interface RateLimiter {
  take(key: string, rule: RateRule, now: number): Promise<RateDecision>;
  close(): Promise<void>;
}
