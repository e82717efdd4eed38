/**
 * The scale scenario's HTTP server: a `docket server` process (api and scheduler, no in-process
 * worker) that remote HTTP workers register with, heartbeat to and claim from. Production reuses
 * its own server process (restarted with the lease asked for); embedded starts one on a SQLite
 * file of its own (startEmbeddedServer), so that its CPU is its own process's.
 */
import { randomBytes } from 'node:crypto';
import { hmacAuthenticator } from '../../src/auth/tokens.js';
import type { Role } from '../../src/auth/roles.js';
import { BIN } from '../paths.js';
import { Proc } from '../production.js';

export interface RemoteServer {
  url: URL;
  /** The server process (its CPU is the scenario's "API server CPU"). */
  pid: number;
  token(roles: Role[], tenant: string): Promise<string>;
}

export function mintToken(secret: string, roles: Role[], tenant: string): Promise<string> {
  return hmacAuthenticator(secret).issuer!.mint({ subject: 'bench', tenant, roles, expiresInSeconds: 3600 });
}

/** `docket server --no-worker` in embedded mode (SQLite in `dataDir`, memory dispatch). Stop the Proc when done. */
export async function startEmbeddedServer(dataDir: string, leaseMs: number, nodeArgs: string[]): Promise<{ proc: Proc; server: RemoteServer }> {
  const secret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('DOCKET_')) delete env[name];
  const proc = new Proc('docket server (embedded)', [...nodeArgs, BIN, 'server', '--no-worker', '--data-dir', dataDir, '--port', '0', '--lease-ms', String(leaseMs)], {
    ...env,
    DOCKET_LOG_LEVEL: 'info',
    DOCKET_JWT_SECRET: secret,
    DOCKET_RATE_LIMIT_TENANT: 'off',
    DOCKET_RATE_LIMIT_TOKEN: 'off',
    DOCKET_HOST: '127.0.0.1',
  });
  try {
    const url = new URL(String((await proc.waitForLog((r) => typeof r.url === 'string', 60_000)).url));
    return { proc, server: { url, pid: proc.pid, token: (roles, tenant) => mintToken(secret, roles, tenant) } };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
