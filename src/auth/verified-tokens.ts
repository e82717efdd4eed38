import { decodeJwt } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Principal } from './roles.js';
import type { Authenticator } from './tokens.js';

export interface VerifiedTokensOptions {
  /** How many verified tokens are remembered. @defaultValue 10000 */
  max?: number;
  /** A remembered token is verified again after this long even if it has not expired. @defaultValue 300000 (5 min) */
  maxAgeMs?: number;
  now?: () => number;
}

/**
 * Remembers the tokens `auth` accepted, until each one's expiry and at most `maxAgeMs`: a worker
 * heartbeats with the same token every few seconds, and checking its signature each time (an
 * HMAC through the crypto thread pool, or an RSA verify) was a fifth of an API server's CPU with
 * 10,000 workers. A refused token is never remembered, so it is checked (and refused) every time.
 * A key withdrawn from a JWKS stops admitting its tokens within `maxAgeMs`.
 */
export function rememberVerified(auth: Authenticator, options: VerifiedTokensOptions = {}): Authenticator {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? 300_000;
  const cache = new LRUCache<string, { principal: Principal; until: number }>({ max: options.max ?? 10_000 });
  return {
    ...auth,
    async verify(token) {
      const hit = cache.get(token);
      if (hit && now() < hit.until) return hit.principal;
      const principal = await auth.verify(token);
      const expiresAt = expiryOf(token);
      if (expiresAt !== null) cache.set(token, { principal, until: Math.min(expiresAt, now() + maxAgeMs) });
      return principal;
    },
  };
}

/** The `exp` claim of a token already verified, in ms (null when it has none: then it is not remembered). */
function expiryOf(token: string): number | null {
  const { exp } = decodeJwt(token);
  return typeof exp === 'number' ? exp * 1000 : null;
}
