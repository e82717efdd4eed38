import type { Role } from '../../src/auth/roles.js';
import { hmacAuthenticator } from '../../src/auth/tokens.js';

/** The secret test servers sign with (tests only; 32+ bytes as HS256 requires). */
export const TEST_SECRET = 'docket-test-secret-0123456789-abcdefghij';

export const testAuth = () => hmacAuthenticator(TEST_SECRET);

/** A token for `tenant` with `roles`, valid an hour (or `expiresInSeconds`). */
export function tokenFor(tenant: string, roles: Role[], expiresInSeconds = 3600, subject = 'test'): Promise<string> {
  return testAuth().issuer!.mint({ subject, tenant, roles, expiresInSeconds });
}

/** An admin of tenant "default": what the pre-auth tests acted as. */
export const adminToken = () => tokenFor('default', ['admin']);
