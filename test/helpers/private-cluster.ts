// A Docket cluster on engines the test owns (test/helpers/private-engines.ts): the processes of
// test/helpers/cluster.ts, pointed at a private PostgreSQL database and a private redis-server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from './cluster.js';
import { createDatabase, type PrivatePostgres, type PrivateRedis } from './private-engines.js';

export async function openPrivateCluster(pgServer: PrivatePostgres, redis: PrivateRedis, name: string): Promise<Cluster & { remove(): void }> {
  const databaseUrl = await createDatabase(pgServer, name);
  const dir = mkdtempSync(join(tmpdir(), 'docket-private-cluster-'));
  const prefix = `${name}:`;
  return {
    schema: { connectionString: databaseUrl, schema: 'public', drop: async () => {} },
    prefix: { url: redis.url, prefix, cleanup: async () => {} },
    databaseUrl,
    dir,
    execLog: join(dir, 'executions.ndjson'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** One request that never throws on an HTTP status: a refused connection is status 0. */
export async function call(url: string, token: string, method: string, path: string, body?: unknown, timeoutMs = 10_000, extra: Record<string, string> = {}): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...extra };
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(`${url}${path}`, { method, headers, signal: AbortSignal.timeout(timeoutMs), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, headers: res.headers, body: parsed };
  } catch (err) {
    return { status: 0, headers: new Headers(), body: String((err as Error).cause ?? err) };
  }
}
