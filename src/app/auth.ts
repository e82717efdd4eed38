import { loadOrCreateSecret } from '../auth/secret.js';
import { hmacAuthenticator, jwksAuthenticator, type Authenticator } from '../auth/tokens.js';
import { rememberVerified } from '../auth/verified-tokens.js';
import type { DocketConfig } from '../config/index.js';

export interface AuthSetup {
  auth: Authenticator;
  /** Set when the server just created its signing secret (first start): where it lives. */
  createdSecretAt: string | null;
}

/**
 * How this server verifies tokens: a JWKS (identity provider), a configured secret, or, secure by
 * default, a secret the embedded server creates in its data directory on first start.
 */
export async function authFromConfig(config: DocketConfig): Promise<AuthSetup> {
  const { auth, createdSecretAt } = await authenticator(config);
  return { auth: rememberVerified(auth), createdSecretAt };
}

async function authenticator(config: DocketConfig): Promise<AuthSetup> {
  if (config.jwks) return { auth: await jwksAuthenticator(config.jwks), createdSecretAt: null };
  if (config.jwtSecret) return { auth: hmacAuthenticator(config.jwtSecret), createdSecretAt: null };
  const { secret, path, created } = await loadOrCreateSecret(config.dataDir);
  return { auth: hmacAuthenticator(secret), createdSecretAt: created ? path : null };
}
