import { createHash, randomUUID, webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { NAME_PATTERN } from '../domain/job-input.js';
import { isRole, ROLES, type Principal, type Role } from './roles.js';

/** A token that cannot be accepted; `message` says why (missing, expired, bad signature...). */
export class AuthenticationError extends Error {}

/** Verifies bearer tokens and turns them into principals. */
export interface Authenticator {
  verify(token: string): Promise<Principal>;
  /** Present when this server holds the signing key (HS256) and can issue tokens itself. */
  readonly issuer?: TokenIssuer;
}

export interface TokenRequest {
  subject: string;
  tenant: string;
  roles: readonly Role[];
  /** Lifetime in seconds. */
  expiresInSeconds: number;
}

export interface TokenIssuer {
  mint(request: TokenRequest): Promise<string>;
}

/** HS256 needs a key at least as long as its hash (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
const TENANT = new RegExp(NAME_PATTERN);

/** Tokens signed with a shared secret (HS256): this server verifies and can mint them. */
export function hmacAuthenticator(secret: string): Authenticator {
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) throw new Error(`the JWT secret must be at least ${MIN_SECRET_BYTES} bytes (got ${key.byteLength})`);
  // Imported once: given the raw bytes, jose would import the key again for every token.
  const verifyKey = webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return {
    verify: async (token) => verifyWith(token, await verifyKey, ['HS256']),
    issuer: {
      mint: (r) =>
        new SignJWT({ tenant: r.tenant, roles: [...r.roles] })
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject(r.subject)
          .setJti(randomUUID())
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + r.expiresInSeconds)
          .sign(key),
    },
  };
}

/** Tokens signed by an identity provider (RS256 / ES256), keys from a JWKS file or URL. */
export async function jwksAuthenticator(source: string): Promise<Authenticator> {
  let keys: JWTVerifyGetKey;
  if (/^https?:\/\//.test(source)) {
    keys = createRemoteJWKSet(new URL(source));
  } else {
    const text = await readFile(source, 'utf8').catch((err: Error) => {
      throw new Error(`cannot read the JWKS file ${source}: ${err.message}`);
    });
    try {
      keys = createLocalJWKSet(JSON.parse(text));
    } catch (err) {
      throw new Error(`the JWKS file ${source} is not a JSON Web Key Set: ${(err as Error).message}`);
    }
  }
  return { verify: (token) => verifyWith(token, keys, ['RS256', 'ES256']) };
}

async function verifyWith(token: string, key: webcrypto.CryptoKey | JWTVerifyGetKey, algorithms: string[]): Promise<Principal> {
  let payload: JWTPayload;
  try {
    // `algorithms` is an allow-list: `alg: none` and algorithm swaps are refused before any check.
    ({ payload } = await jwtVerify(token, key as webcrypto.CryptoKey, { algorithms, requiredClaims: ['exp', 'sub'] }));
  } catch (err) {
    throw new AuthenticationError(explain(err, algorithms));
  }
  return toPrincipal(payload, token);
}

function toPrincipal(payload: JWTPayload, token: string): Principal {
  const { sub, tenant, roles } = payload as { sub?: unknown; tenant?: unknown; roles?: unknown };
  // jose checks only that `sub` is present; RFC 7519 §4.1.2 makes it a string, and the subject is
  // what logs and rate limits name the caller by.
  if (typeof sub !== 'string' || sub === '') {
    throw new AuthenticationError(`the token's "sub" claim must be a non-empty string (who the token is for; got ${JSON.stringify(sub)?.slice(0, 40) ?? String(sub)})`);
  }
  if (typeof tenant !== 'string' || !TENANT.test(tenant)) {
    throw new AuthenticationError('the token has no valid "tenant" claim (a name: letters, digits and _ . : -)');
  }
  if (!Array.isArray(roles) || roles.length === 0) throw new AuthenticationError(`the token has no "roles" claim (a list of ${ROLES.join(', ')})`);
  const known = roles.filter(isRole);
  if (known.length === 0) throw new AuthenticationError(`the token's roles ${JSON.stringify(roles)} include none of ${ROLES.join(', ')}`);
  return {
    subject: sub,
    tenant,
    roles: known,
    tokenId: typeof payload.jti === 'string' ? payload.jti : createHash('sha256').update(token).digest('base64url').slice(0, 22),
  };
}

function explain(err: unknown, algorithms: string[]): string {
  if (err instanceof errors.JWTExpired) return `the token expired at ${new Date((err.payload.exp ?? 0) * 1000).toISOString()}`;
  if (err instanceof errors.JOSEAlgNotAllowed) return `the token's signing algorithm is not accepted (allowed: ${algorithms.join(', ')}; unsigned "none" tokens never are)`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid (signed with another key?)';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the configured key set matches the token (unknown "kid"?)';
  if (err instanceof errors.JWTClaimValidationFailed) return `the token's "${err.claim}" claim is invalid: ${err.reason === 'missing' ? 'missing' : err.message}`;
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the token is malformed (expected a signed JWT: three base64url parts separated by dots)';
  if (err instanceof errors.JOSENotSupported) return `the token uses an unsupported algorithm or key type: ${(err as Error).message}`;
  if (err instanceof errors.JWKSTimeout) return 'the key set could not be fetched in time; try again';
  return `the token was refused: ${(err as Error).message}`;
}

/** "30d", "12h", "15m", "3600s" or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 3600, 15m, 12h, 30d, 2w)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const seconds = Number(m[1]) * unit;
  if (seconds < 1) throw new Error(`"${text}" is not a positive duration`);
  return seconds;
}
