// Bearer tokens (src/auth/tokens.ts): what a valid token becomes, and the reason given for each
// token refused (claims, expiry, signature, algorithm, key set), as a client sees it in a 401.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, hmacAuthenticator, jwksAuthenticator, MIN_SECRET_BYTES, parseDuration } from '../src/auth/tokens.js';

const SECRET = 'tokens-test-secret-0123456789-abcdefghij';
const auth = hmacAuthenticator(SECRET);
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with exactly these claims (and header fields). */
function signed(claims: JWTPayload, header: Record<string, unknown> = {}, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(secret));
}
/** A token put together by hand (jose will not sign some of what a client may send), signed HS256 with SECRET. */
function handmade(header: object, payload: string): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  const input = `${b64(JSON.stringify({ alg: 'HS256', ...header }))}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const valid = { sub: 'ci-bot', tenant: 'acme', roles: ['submitter'], exp: now() + 600 };

async function reason(verify: Promise<unknown>): Promise<string> {
  try {
    await verify;
  } catch (err) {
    expect(err).toBeInstanceOf(AuthenticationError);
    return (err as Error).message;
  }
  throw new Error('token accepted');
}

describe('hmacAuthenticator', () => {
  it('refuses a secret shorter than HS256 needs', () => {
    expect(() => hmacAuthenticator('x'.repeat(MIN_SECRET_BYTES - 1))).toThrow(`the JWT secret must be at least 32 bytes (got 31)`);
  });

  it('verifies what it mints: subject, tenant, roles and token id', async () => {
    const token = await auth.issuer!.mint({ subject: 'alice', tenant: 'acme', roles: ['admin', 'viewer'], expiresInSeconds: 60 });
    const principal = await auth.verify(token);
    expect(principal).toMatchObject({ subject: 'alice', tenant: 'acme', roles: ['admin', 'viewer'] });
    expect(principal.tokenId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ids a token without jti by its hash, the same each time; keeps only known roles', async () => {
    const token = await signed({ ...valid, roles: ['submitter', 'astronaut'] });
    const a = await auth.verify(token);
    expect(a.roles).toEqual(['submitter']);
    expect(a.tokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect((await auth.verify(token)).tokenId).toBe(a.tokenId);
  });

  it('names the claim that is wrong', async () => {
    expect(await reason(auth.verify(await signed({ ...valid, sub: 7 as unknown as string })))).toBe(
      'the token\'s "sub" claim must be a non-empty string (who the token is for; got 7)',
    );
    expect(await reason(auth.verify(await signed({ ...valid, sub: '' })))).toMatch(/"sub" claim must be a non-empty string .*got ""/);
    expect(await reason(auth.verify(await signed({ ...valid, tenant: 'a b' })))).toBe('the token has no valid "tenant" claim (a name: letters, digits and _ . : -)');
    expect(await reason(auth.verify(await signed({ ...valid, tenant: undefined })))).toMatch(/no valid "tenant" claim/);
    expect(await reason(auth.verify(await signed({ ...valid, roles: [] })))).toBe('the token has no "roles" claim (a list of admin, submitter, worker, viewer, cluster-worker)');
    expect(await reason(auth.verify(await signed({ ...valid, roles: 'admin' })))).toMatch(/no "roles" claim/);
    expect(await reason(auth.verify(await signed({ ...valid, roles: ['root'] })))).toBe('the token\'s roles ["root"] include none of admin, submitter, worker, viewer, cluster-worker');
    const { sub: _s, ...noSub } = valid;
    expect(await reason(auth.verify(await signed(noSub)))).toBe('the token\'s "sub" claim is invalid: missing');
    const { exp: _e, ...noExp } = valid;
    expect(await reason(auth.verify(await signed(noExp)))).toBe('the token\'s "exp" claim is invalid: missing');
    expect(await reason(auth.verify(await signed({ ...valid, nbf: now() + 3600 })))).toMatch(/^the token's "nbf" claim is invalid: /);
  });

  it('says when the token expired', async () => {
    const exp = now() - 3600;
    expect(await reason(auth.verify(await signed({ ...valid, exp })))).toBe(`the token expired at ${new Date(exp * 1000).toISOString()}`);
  });

  it('refuses another key, another algorithm, an unsigned token, a malformed one, an unknown critical header', async () => {
    expect(await reason(auth.verify(await signed(valid, {}, 'another-secret-0123456789-abcdefghijklmnop')))).toBe(
      'the token signature is invalid (signed with another key?)',
    );
    const hs512 = await new SignJWT(valid).setProtectedHeader({ alg: 'HS512' }).sign(new TextEncoder().encode(SECRET.repeat(2)));
    expect(await reason(auth.verify(hs512))).toBe('the token\'s signing algorithm is not accepted (allowed: HS256; unsigned "none" tokens never are)');
    expect(await reason(auth.verify(new UnsecuredJWT(valid).encode()))).toMatch(/signing algorithm is not accepted/);
    expect(await reason(auth.verify('not.a-token'))).toBe('the token is malformed (expected a signed JWT: three base64url parts separated by dots)');
    expect(await reason(auth.verify(handmade({ crit: ['x-extension'], 'x-extension': 1 }, JSON.stringify(valid))))).toBe(
      'the token uses an unsupported algorithm or key type: Extension Header Parameter "x-extension" is not recognized',
    );
    expect(await reason(auth.verify(handmade({}, '"just a string"')))).toBe('the token is malformed (expected a signed JWT: three base64url parts separated by dots)');
    // The hand-made path is sound: the same claims that way are accepted.
    expect((await auth.verify(handmade({}, JSON.stringify(valid)))).subject).toBe('ci-bot');
  });
});

describe('jwksAuthenticator', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let jwksPath: string;
  let sign: (claims: JWTPayload, kid?: string) => Promise<string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'docket-jwks-'));
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };
    jwksPath = join(dir, 'jwks.json');
    await writeFile(jwksPath, JSON.stringify(jwks));
    sign = (claims, kid = 'k1') => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/jwks.json`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies tokens with keys from a file or a URL; a key set cannot mint', async () => {
    for (const source of [jwksPath, url]) {
      const idp = await jwksAuthenticator(source);
      expect(idp.issuer).toBeUndefined();
      expect(await idp.verify(await sign({ ...valid, jti: 'j-1' }))).toEqual({ subject: 'ci-bot', tenant: 'acme', roles: ['submitter'], tokenId: 'j-1' });
    }
  });

  it('says when no key matches, and refuses HS256 tokens', async () => {
    const idp = await jwksAuthenticator(jwksPath);
    expect(await reason(idp.verify(await sign(valid, 'k2')))).toBe('no key of the configured key set matches the token (unknown "kid"?)');
    expect(await reason(idp.verify(await signed(valid)))).toBe('the token\'s signing algorithm is not accepted (allowed: RS256, ES256; unsigned "none" tokens never are)');
  });

  it('names a key set it cannot read', async () => {
    await expect(jwksAuthenticator(join(dir, 'missing.json'))).rejects.toThrow(/^cannot read the JWKS file .*missing\.json: ENOENT/);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"keys": ');
    await expect(jwksAuthenticator(bad)).rejects.toThrow(/^the JWKS file .*bad\.json is not a JSON Web Key Set: /);
    await writeFile(bad, '{"no": "keys"}');
    await expect(jwksAuthenticator(bad)).rejects.toThrow(/is not a JSON Web Key Set/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['3600', 3600],
    ['45s', 45],
    ['15m', 900],
    ['12h', 43_200],
    ['30d', 2_592_000],
    ['2w', 1_209_600],
    [' 5 m ', 300],
  ])('%j is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it('refuses what is not a positive duration', () => {
    expect(() => parseDuration('1y')).toThrow('"1y" is not a duration (e.g. 3600, 15m, 12h, 30d, 2w)');
    expect(() => parseDuration('-5m')).toThrow('is not a duration');
    expect(() => parseDuration('0h')).toThrow('"0h" is not a positive duration');
  });
});
