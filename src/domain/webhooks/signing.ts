import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures. Each delivery carries `Docket-Signature: t=<unix seconds>,v1=<hex>`, where
 * v1 is HMAC-SHA256, keyed with the subscription's secret, over `${t}.${body}`. Signing the
 * timestamp with the body lets a receiver refuse old requests (a replay) as well as forged ones.
 * docs/webhooks.md gives the receiver's side in Node and Python.
 */

export const SIGNATURE_HEADER = 'docket-signature';
/** How old a signed request a receiver should accept, by default (docs/webhooks.md). */
export const DEFAULT_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, base64url, with a prefix that says what it is. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * A new job-callback secret (docs/webhooks.md#job-callbacks): 32 random bytes, hex, with the same
 * prefix; the database triggers that make a tenant's first one use the same form.
 */
export function newCallbackSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('hex');
}

/** The hex HMAC-SHA256 of `${timestamp}.${body}` under `secret` (the secret's text, as UTF-8). */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The Docket-Signature header value for `body` sent at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

export type Verification = { ok: true; timestamp: number } | { ok: false; reason: string };

/**
 * The receiver's check, as docs/webhooks.md describes it: the header parses, one v1 signature
 * matches (constant-time compare), and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): Verification {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2) as [string, string | undefined];
    if (k.trim() === 't' && v !== undefined && /^\d+$/.test(v)) timestamp = Number(v);
    else if (k.trim() === 'v1' && v !== undefined) signatures.push(v);
  }
  if (timestamp === undefined) return { ok: false, reason: 'no timestamp (t=) in the signature header' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1 signature in the signature header' };
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: `timestamp ${timestamp} is outside the ${toleranceSeconds} s tolerance` };
  const expected = Buffer.from(signatureOf(secret, timestamp, body), 'hex');
  const match = signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? { ok: true, timestamp } : { ok: false, reason: 'no signature matches' };
}
