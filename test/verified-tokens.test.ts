// Remembered verifications (src/auth/verified-tokens.ts): a token the server accepted is not
// checked again until it expires or the cache's age limit passes; a refused one always is.
import { describe, expect, it } from 'vitest';
import { AuthenticationError, hmacAuthenticator, type Authenticator } from '../src/auth/tokens.js';
import { rememberVerified } from '../src/auth/verified-tokens.js';

const SECRET = 'verified-tokens-test-secret-0123456789-abc';
const real = hmacAuthenticator(SECRET);

/** The real HS256 authenticator, counting the tokens it was asked to check. */
function counting(): Authenticator & { checks: string[] } {
  const checks: string[] = [];
  return { checks, issuer: real.issuer!, verify: (token) => (checks.push(token), real.verify(token)) };
}
const mint = (tenant = 'acme', expiresInSeconds = 600) => real.issuer!.mint({ subject: 'w', tenant, roles: ['worker'], expiresInSeconds });

describe('rememberVerified', () => {
  it('checks a token once, then answers the same principal from memory', async () => {
    const inner = counting();
    const auth = rememberVerified(inner);
    const token = await mint();
    const first = await auth.verify(token);
    expect(first).toMatchObject({ subject: 'w', tenant: 'acme', roles: ['worker'] });
    expect(await auth.verify(token)).toEqual(first);
    expect(await auth.verify(token)).toEqual(first);
    expect(inner.checks).toHaveLength(1);
  });

  it('checks again once the token has expired: exactly at its exp, not a millisecond before', async () => {
    let clock = Date.now();
    const inner = counting();
    const auth = rememberVerified(inner, { now: () => clock });
    const token = await mint('acme', 60);
    await auth.verify(token);
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp * 1000;
    clock = exp - 1;
    await auth.verify(token);
    expect(inner.checks).toHaveLength(1);
    clock = exp;
    await auth.verify(token); // the real clock has not reached exp: the signature check passes again
    expect(inner.checks).toHaveLength(2);
  });

  it('checks again after maxAgeMs even when the token lives longer', async () => {
    let clock = Date.now();
    const inner = counting();
    const auth = rememberVerified(inner, { now: () => clock, maxAgeMs: 1000 });
    const token = await mint('acme', 3600);
    await auth.verify(token);
    clock += 999;
    await auth.verify(token);
    expect(inner.checks).toHaveLength(1);
    clock += 1;
    await auth.verify(token);
    expect(inner.checks).toHaveLength(2);
  });

  it('never remembers a refused token: each try is checked and refused with the reason', async () => {
    const inner = counting();
    const auth = rememberVerified(inner);
    const forged = `${(await mint()).slice(0, -4)}AAAA`;
    for (let i = 0; i < 3; i++) await expect(auth.verify(forged)).rejects.toThrow(new AuthenticationError('the token signature is invalid (signed with another key?)'));
    expect(inner.checks).toHaveLength(3);
  });

  it('keeps at most max tokens, forgetting the least recently used', async () => {
    const inner = counting();
    const auth = rememberVerified(inner, { max: 2 });
    const [a, b, c] = [await mint('a'), await mint('b'), await mint('c')];
    await auth.verify(a);
    await auth.verify(b);
    await auth.verify(a); // a is now the most recent
    await auth.verify(c); // evicts b
    expect(inner.checks).toEqual([a, b, c]);
    await auth.verify(a);
    await auth.verify(b);
    expect(inner.checks).toEqual([a, b, c, b]);
  });
});
