import { signatureHeader } from '../../domain/webhooks/signing.js';
import type { AttemptResult } from '../../domain/webhooks/policy.js';

/** One signed POST of a delivery (docs/webhooks.md lists the headers). */
export interface WebhookRequest {
  url: string;
  secret: string;
  /** The JSON body, sent as is and signed. */
  body: string;
  eventId: string;
  eventType: string;
  deliveryId: string;
  attempt: number;
}

export interface PostOptions {
  timeoutMs: number;
  /** The signature's timestamp, unix seconds. */
  timestamp: number;
  /** Aborts the request without it counting as an attempt (the sender stopping). */
  signal?: AbortSignal;
}

export type PostResult = (AttemptResult & { aborted: false }) | { aborted: true };

export const USER_AGENT = 'Docket-Webhooks/1';

/**
 * Sends one delivery with Node's fetch. Never throws: a status, or an error text (timeout,
 * connection refused, bad TLS...) with no status. Redirects are not followed (a 3xx is a failed
 * attempt), so a delivery goes only to the URL its owner registered.
 */
export async function postWebhook(req: WebhookRequest, opts: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'docket-event-id': req.eventId,
        'docket-event-type': req.eventType,
        'docket-delivery-id': req.deliveryId,
        'docket-delivery-attempt': String(req.attempt),
        'docket-signature': signatureHeader(req.secret, opts.timestamp, req.body),
      },
      body: req.body,
    });
    // The answer's body is not used: drop it rather than read an unbounded stream.
    await res.body?.cancel().catch(() => {});
    return { aborted: false, statusCode: res.status, error: null, durationMs: elapsed() };
  } catch (err) {
    if (opts.signal?.aborted && !timeout.aborted) return { aborted: true };
    return { aborted: false, statusCode: null, error: describe(err, timeout.aborted, opts.timeoutMs), durationMs: elapsed() };
  }
}

function describe(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return (cause ? `${e.message}: ${cause}` : e.message).slice(0, 500);
}
