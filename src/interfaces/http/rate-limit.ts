import type { FastifyInstance } from 'fastify';
import type { RateDecision, RateRule } from '../../domain/token-bucket.js';
import type { Clock } from '../../ports/clock.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';
import { problemOf, sendProblem } from './problem.js';

export interface RateLimits {
  limiter: RateLimiter;
  clock: Clock;
  /** Per tenant, across all its tokens. Absent: unlimited. */
  tenant?: RateRule;
  /** Per token. Absent: unlimited. */
  token?: RateRule;
}

/**
 * Token-bucket limits per tenant and per token on every authenticated request. Replies carry
 * RateLimit-Limit / -Remaining / -Reset of the tighter bucket; a refused request gets 429 with
 * Retry-After. Runs after authentication (hooks run in the order they were added).
 */
export function installRateLimits(app: FastifyInstance, limits: RateLimits): void {
  if (!limits.tenant && !limits.token) return;
  app.addHook('onRequest', async (request, reply) => {
    const principal = request.principal;
    if (!principal) return;
    const now = limits.clock.now();
    const checks: Promise<[string, RateDecision]>[] = [];
    if (limits.tenant) checks.push(limits.limiter.take(`tenant:${principal.tenant}`, limits.tenant, now).then((d) => [`tenant ${principal.tenant}`, d]));
    if (limits.token) checks.push(limits.limiter.take(`token:${principal.tokenId}`, limits.token, now).then((d) => ['this token', d]));
    const decisions = await Promise.all(checks);
    const refused = decisions.find(([, d]) => !d.allowed);
    const [who, shown] = refused ?? decisions.reduce((a, b) => (b[1].remaining < a[1].remaining ? b : a));
    reply.header('ratelimit-limit', shown.limit);
    reply.header('ratelimit-remaining', shown.remaining);
    reply.header('ratelimit-reset', Math.ceil(shown.resetMs / 1000));
    if (refused) {
      const seconds = Math.max(1, Math.ceil(shown.retryAfterMs / 1000));
      reply.header('retry-after', seconds);
      return sendProblem(reply, problemOf(request, 429, 'rate-limited', 'Too Many Requests', `rate limit of ${who} exceeded (${shown.limit} requests in a burst); retry after ${seconds} s`));
    }
  });
}
