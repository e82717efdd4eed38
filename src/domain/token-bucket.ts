/** A token bucket: `burst` tokens at most, refilled at `perSecond`; each request takes one. */
export interface RateRule {
  perSecond: number;
  burst: number;
}

export interface BucketState {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Until the bucket is full again. */
  resetMs: number;
  /** Until one token is available (0 when allowed). */
  retryAfterMs: number;
}

/**
 * The bucket at `now`: the tokens earned since the last refill added, fractions kept (a rate of
 * 0.1/s earns a whole token after 10 s however often it is refilled), at most `burst`.
 */
export function refill(state: BucketState, rule: RateRule, now: number): BucketState {
  const elapsed = Math.max(0, now - state.at) / 1000;
  return { tokens: Math.min(rule.burst, state.tokens + elapsed * rule.perSecond), at: Math.max(now, state.at) };
}

/**
 * Refills `state` up to `now`, takes a token if there is one; returns the new state and the decision.
 * The bucket's time never goes back: API processes whose clocks disagree share a Redis bucket, and
 * a "now" behind the bucket's used to become its time, so the next caller ahead was paid the skew
 * again (two processes 1 s apart, hammered in turn, admitted 24 requests in 1 ms at 1,000/s burst 20).
 */
export function takeToken(state: BucketState | undefined, rule: RateRule, now: number): { state: BucketState; decision: RateDecision } {
  const { at, tokens: before } = refill(state ?? { tokens: rule.burst, at: now }, rule, now);
  let tokens = before;
  const allowed = tokens >= 1;
  if (allowed) tokens -= 1;
  const retryAfterMs = allowed ? 0 : Math.ceil(((1 - tokens) / rule.perSecond) * 1000);
  const resetMs = Math.ceil(((rule.burst - tokens) / rule.perSecond) * 1000);
  return { state: { tokens, at }, decision: { allowed, limit: rule.burst, remaining: Math.floor(tokens), resetMs, retryAfterMs } };
}

/** "100/s", "6000/m", optionally ":burst" ("100/s:300"). Burst defaults to one second's worth (at least 1). */
export function parseRateRule(text: string): RateRule {
  const m = /^(\d+(?:\.\d+)?)\/(s|m|h)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a rate (e.g. 100/s, 6000/m, or 100/s:300 with a burst of 300)`);
  const perSecond = Number(m[1]) / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
  if (perSecond <= 0) throw new Error(`"${text}": the rate must be above 0`);
  const burst = m[3] !== undefined ? Number(m[3]) : Math.max(1, Math.ceil(perSecond));
  if (burst < 1) throw new Error(`"${text}": the burst must be at least 1`);
  return { perSecond, burst };
}
