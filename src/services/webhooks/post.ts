import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { signatureHeader } from '../../domain/webhooks/signing.js';
import type { AttemptResult } from '../../domain/webhooks/policy.js';
import { BlockedAddressError, type AddressGuard } from '../../net/address-guard.js';

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
  /** Which addresses the request may connect to. */
  guard: AddressGuard;
  /** Aborts the request without it counting as an attempt (the sender stopping). */
  signal?: AbortSignal;
}

export type PostResult = (AttemptResult & { aborted: false }) | { aborted: true };

export const USER_AGENT = 'Docket-Webhooks/1';

/**
 * What a failed connection reports, whatever happened: refused, reset, timed out, no route, bad
 * TLS. One text for all, so the delivery log and the test endpoint cannot tell a closed port from
 * a filtered one or a silent service (they made the server a port scanner: issue 19).
 */
export const NO_ANSWER = 'no HTTP answer from the receiver (connection failed or timed out)';
/** What a target refused by the address guard reports (the address itself is not named). */
export const BLOCKED = 'the target is not a public address; webhooks and callbacks go to public addresses only (docs/webhooks.md#where-webhooks-may-go)';

/**
 * Sends one delivery. Never throws: a status, or an error text with no status. The socket connects
 * only to an address the guard allows, checked on the address actually connected to (an IP in the
 * URL before connecting, a name's addresses in the socket's lookup), so a name that now resolves
 * elsewhere (DNS rebinding) is refused too. Redirects are not followed (a 3xx is a failed attempt),
 * so a delivery goes only to the URL its owner registered.
 */
export async function postWebhook(req: WebhookRequest, opts: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (error: string): PostResult => ({ aborted: false, statusCode: null, error, durationMs: elapsed() });
  const url = new URL(req.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && opts.guard.refusal(host) !== null) return failed(BLOCKED);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const status = await send(url, req, opts, signal);
    return { aborted: false, statusCode: status, error: null, durationMs: elapsed() };
  } catch (err) {
    if (opts.signal?.aborted && !timeout.aborted) return { aborted: true };
    return failed(err instanceof BlockedAddressError ? BLOCKED : NO_ANSWER);
  }
}

/**
 * Keep-alive connections per guard, every new one made through the guard's lookup. A pooled socket
 * stays connected to the address that was checked when it opened, so reusing it is safe.
 */
const agents = new WeakMap<AddressGuard, { http: HttpAgent; https: HttpsAgent }>();

function agentsOf(guard: AddressGuard) {
  let pair = agents.get(guard);
  if (!pair) {
    const options = { keepAlive: true, lookup: guard.lookup };
    pair = { http: new HttpAgent(options), https: new HttpsAgent(options) };
    agents.set(guard, pair);
  }
  return pair;
}

/** The POST itself: resolves with the status once the head arrived; the answer's body is discarded unread. */
function send(url: URL, req: WebhookRequest, opts: PostOptions, signal: AbortSignal): Promise<number> {
  const https = url.protocol === 'https:';
  const request = https ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        signal,
        agent: https ? agentsOf(opts.guard).https : agentsOf(opts.guard).http,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(req.body),
          'user-agent': USER_AGENT,
          'docket-event-id': req.eventId,
          'docket-event-type': req.eventType,
          'docket-delivery-id': req.deliveryId,
          'docket-delivery-attempt': String(req.attempt),
          'docket-signature': signatureHeader(req.secret, opts.timestamp, req.body),
        },
      },
      (res: IncomingMessage) => {
        resolve(res.statusCode ?? 0);
        // Discarded as it arrives (never buffered); the timeout still ends an endless one.
        res.resume();
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}
