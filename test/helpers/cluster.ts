// Production clusters for end-to-end tests: `docket server` processes on the machine's PostgreSQL
// and Redis, as an operator runs them. Each cluster is isolated: its own PostgreSQL schema (through
// the URL's search_path), its own Redis prefix (which also names the leader lock) and token secret.
// Workers are `docket server --role worker` processes running test/fixtures/cluster-handlers.js,
// which logs every execution.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect } from 'vitest';
import { cleanEnv, freePort, stopAll, until } from './process.js';
import { openTestSchema, type TestSchema } from './postgres.js';
import { openTestPrefix, type TestPrefix } from './redis.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const HANDLERS = join(ROOT, 'test', 'fixtures', 'cluster-handlers.js');
/** Short, so a dead worker's jobs come back (and the test ends) quickly. */
export const LEASE_MS = 2000;
export const JWT_SECRET = `production-cluster-test-${randomUUID()}`;
export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

/** The admin token `api` sends; set it once per test file (mintToken('admin')). */
export const admin = { token: '' };

// ---------------------------------------------------------------------------------------------
// Processes and clusters, all cleaned up after each test.

export interface Proc {
  name: string;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** stderr alone so far: where Node prints what killed a process (an uncaught exception, an unhandled rejection). */
  stderr(): string;
  exited: Promise<void>;
  /** How it ended, once it has: exit code or signal, and when. */
  exit(): { code: number | null; signal: NodeJS.Signals | null; at: number } | null;
  /** The pino JSON lines printed so far. */
  logs(): Record<string, unknown>[];
}

export interface Server extends Proc {
  url: string;
  /** `leader` of the start-up log line. */
  startedAsLeader: boolean;
}

export interface Cluster {
  schema: TestSchema;
  prefix: TestPrefix;
  /** The cluster's PostgreSQL URL: the test database with search_path set to its own schema. */
  databaseUrl: string;
  dir: string;
  /** Where the fixture handlers log their executions. */
  execLog: string;
}

const procs = new Set<Proc>();
const clusters: Cluster[] = [];

/** Kills every process and drops every cluster the test started; prints their output when it failed. */
export async function cleanupClusters(failed: boolean): Promise<void> {
  const all = [...procs];
  procs.clear();
  if (failed) {
    for (const p of all) console.error(`--- ${p.name} (last output) ---\n${p.output().split('\n').slice(-15).join('\n')}`);
  }
  // Dead processes hold no PostgreSQL session (and no lock) that would keep the schema from dropping.
  await stopAll(all.map((p) => p.child));
  await Promise.all(all.map((p) => p.exited));
  for (const c of clusters.splice(0)) {
    await c.schema.drop().catch((err) => console.error(`could not drop ${c.schema.schema}:`, err));
    await c.prefix.cleanup().catch((err) => console.error(`could not delete ${c.prefix.prefix}*:`, err));
    rmSync(c.dir, { recursive: true, force: true });
  }
}

export async function openCluster(): Promise<Cluster> {
  const [schema, prefix] = await Promise.all([openTestSchema(), openTestPrefix()]);
  const dir = mkdtempSync(join(tmpdir(), 'docket-cluster-'));
  const cluster = {
    schema,
    prefix,
    databaseUrl: `${schema.connectionString}?options=${encodeURIComponent(`-c search_path=${schema.schema}`)}`,
    dir,
    execLog: join(dir, 'executions.ndjson'),
  };
  clusters.push(cluster);
  return cluster;
}

export function start(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['bin/docket', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  let exit: ReturnType<Proc['exit']> = null;
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => {
    output += d;
    stderr += d;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: Date.now() };
      resolve();
    }),
  );
  const logs = () =>
    output.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const proc: Proc = { name, child, output: () => output, stderr: () => stderr, exited, exit: () => exit, logs };
  procs.add(proc);
  return proc;
}

export function clusterEnv(c: Cluster, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    DOCKET_DATABASE_URL: c.databaseUrl,
    DOCKET_REDIS_URL: c.prefix.url,
    DOCKET_REDIS_PREFIX: c.prefix.prefix,
    DOCKET_JWT_SECRET: JWT_SECRET,
    DOCKET_LEASE_MS: String(LEASE_MS),
    // info: the start-up line says whether the process leads.
    DOCKET_LOG_LEVEL: 'info',
    DOCKET_TEST_EXEC_LOG: c.execLog,
    ...extra,
  });
}

/** The start-up log line ("Docket listening ..." / "Docket running ..."), once printed. */
export function startLine(p: Proc, ms = 20_000): Promise<Record<string, unknown>> {
  return until(`${p.name} to start`, () => {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
    return p.logs().find((l) => typeof l.msg === 'string' && /^Docket (listening|running)/.test(l.msg));
  }, ms);
}

/** `docket server --role api,scheduler --no-worker` on a free port, once it serves. */
export async function startServer(c: Cluster, name: string, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const proc = start(name, ['server', '--role', 'api,scheduler', '--no-worker'], clusterEnv(c, { ...env, PORT: String(port) }));
  const line = await startLine(proc);
  return { ...proc, url: `http://127.0.0.1:${port}`, startedAsLeader: line.leader === true };
}

/** `docket server --role worker` running the fixture handlers: no HTTP, straight to PostgreSQL + Redis. */
export async function startWorker(c: Cluster, name: string, opts: { queues?: string; concurrency?: number; env?: Record<string, string> } = {}): Promise<Proc> {
  const args = ['server', '--role', 'worker', '--handlers', HANDLERS, '--queues', opts.queues ?? 'default', '--concurrency', String(opts.concurrency ?? 10)];
  const proc = start(name, args, clusterEnv(c, opts.env));
  await startLine(proc);
  return proc;
}

export async function mintToken(role: string): Promise<string> {
  const proc = start(`token ${role}`, ['token', '--role', role, '--sub', `cluster-test-${role}`, '--expires', '1h'], cleanEnv({ DOCKET_JWT_SECRET: JWT_SECRET }));
  await proc.exited;
  expect(proc.child.exitCode, proc.output()).toBe(0);
  return proc.output().trim();
}

// ---------------------------------------------------------------------------------------------
// HTTP, database and execution log.

export async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${admin.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Whether the server says it leads (GET /readyz `leader`); undefined when it does not answer. */
export async function leads(s: Server): Promise<boolean | undefined> {
  const res = await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
  if (!res) return undefined;
  const body = (await res.json().catch(() => ({}))) as { leader?: unknown };
  if (typeof body.leader !== 'boolean') throw new Error(`GET ${s.url}/readyz says nothing of leadership: ${JSON.stringify(body)}`);
  return body.leader;
}

export interface JobRow {
  id: string;
  queue: string;
  state: string;
  attempt: number;
  priority: number;
  run_at: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  errors: { message: string; code?: string; attempt: number; at: number }[];
}

export async function sql<T extends pg.QueryResultRow>(c: Cluster, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: c.databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function jobs(c: Cluster): Promise<JobRow[]> {
  const rows = await sql<Record<string, unknown>>(
    c,
    'SELECT id, queue, state, attempt, priority, run_at, created_at, started_at, finished_at, errors FROM jobs ORDER BY id',
  );
  const n = (v: unknown) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    ...(r as unknown as JobRow),
    run_at: Number(r.run_at),
    created_at: Number(r.created_at),
    started_at: n(r.started_at),
    finished_at: n(r.finished_at),
  }));
}

/** Jobs by state, until none is left unfinished; fails after `ms` naming what is still open. */
export async function untilAllFinished(c: Cluster, ms: number): Promise<void> {
  let last: Record<string, number> = {};
  try {
    await until('every job to finish', async () => {
      const rows = await sql<{ state: string; n: string }>(c, 'SELECT state, count(*) AS n FROM jobs GROUP BY state');
      last = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
      return rows.every((r) => TERMINAL.has(r.state)) ? true : undefined;
    }, ms, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; jobs by state: ${JSON.stringify(last)}`);
  }
}

/** How many keys the cluster has in Redis (SCAN: the server is shared, KEYS would block it). */
export async function redisKeys(c: Cluster): Promise<number> {
  const redis = new Redis(c.prefix.url);
  try {
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${c.prefix.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      n += keys.length;
      cursor = next;
    } while (cursor !== '0');
    return n;
  } finally {
    await redis.quit();
  }
}

export interface Execution {
  id: string;
  attempt: number;
  lease: string;
  pid: number;
  start: number;
  end: number;
}

export function executions(c: Cluster): Execution[] {
  if (!existsSync(c.execLog)) return [];
  return readFileSync(c.execLog, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{') && l.endsWith('}'))
    .map((l) => JSON.parse(l) as Execution);
}

