import { retryDelayMs, type RetryBackoff } from './backoff.js';

/** How deliveries are tried, retried and given up on (config file `webhooks`, see docs/webhooks.md). */
export interface WebhookPolicy {
  /** Tries of one delivery before it is given up (status `failed`). */
  maxAttempts: number;
  /** Failed attempts in a row, across deliveries, after which the subscription is disabled. */
  disableAfterFailures: number;
  /** A receiver that has not answered by then has failed the attempt. */
  timeoutMs: number;
  backoff: RetryBackoff;
  /** Requests in flight at once, across subscriptions (one per subscription at a time). */
  concurrency: number;
  /**
   * Non-public networks webhooks and callbacks may reach anyway (CIDRs or addresses, e.g.
   * `10.20.0.0/16`, `127.0.0.1`): everything but public unicast addresses is refused otherwise
   * (src/net/address-guard.ts).
   */
  allowPrivateNetworks: readonly string[];
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = {
  maxAttempts: 15,
  disableAfterFailures: 20,
  timeoutMs: 10_000,
  backoff: { initialMs: 10_000, maxMs: 3_600_000 },
  concurrency: 8,
  allowPrivateNetworks: [],
};

/** What one attempt got: an HTTP status, or an error (timeout, refused connection...) and no status. */
export interface AttemptResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface AttemptDecision {
  /** The delivery's status after this attempt. */
  status: 'delivered' | 'pending' | 'failed';
  /** Whether the attempt counts as a failure of the subscription (its run of failures grows). */
  failure: boolean;
  /** When the next try is due (status pending), else null. */
  nextAttemptAt: number | null;
  /** Disable the subscription at once, with this reason (410 Gone), else null. */
  disableNow: string | null;
}

/**
 * What an attempt means. 2xx: delivered. 410 Gone: the receiver says the endpoint is gone for good,
 * so the subscription is disabled at once (re-enable it to resume). Anything else (other statuses,
 * redirects, timeouts, connection errors) is a failure, retried with backoff until `maxAttempts`.
 */
export function decideAttempt(result: AttemptResult, attempt: number, policy: WebhookPolicy, now: number, random: () => number): AttemptDecision {
  const code = result.statusCode;
  if (code !== null && code >= 200 && code < 300) return { status: 'delivered', failure: false, nextAttemptAt: null, disableNow: null };
  const disableNow = code === 410 ? 'the receiver answered 410 Gone' : null;
  if (attempt >= policy.maxAttempts) return { status: 'failed', failure: true, nextAttemptAt: null, disableNow };
  return { status: 'pending', failure: true, nextAttemptAt: now + retryDelayMs(attempt, policy.backoff, random), disableNow };
}
