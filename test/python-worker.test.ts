// The remote worker protocol is language-neutral: examples/python/example.py (standard library
// only) serves jobs from a real `docket server --no-worker`, and the test checks what a user would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, freePort, stopAll, until } from './helpers/process.js';
import { needTool } from './helpers/tools.js';
import { startReceiver } from './helpers/otlp-receiver.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'python', 'example.py');
const PYTHON = process.env.PYTHON ?? 'python3';
const hasPython = needTool('python-worker.test.ts', `Python 3 ("${PYTHON} --version" failed)`, spawnSync(PYTHON, ['--version'], { stdio: 'ignore' }).status === 0, 'apt-get install -y python3');

/** Lease of the test server: heartbeats come every 0.5 s, so a cancel reaches the worker fast. */
const LEASE_MS = 1500;

/**
 * The servers verify tokens signed with this secret. Tokens are minted with `docket token`, as a
 * user would: an admin token for the test's own calls, a worker token for the Python worker.
 */
const JWT_SECRET = `python-worker-test-${randomUUID()}`;
const tokens: { admin?: string; worker?: string } = {};

const children = new Set<ChildProcess>();
const dirs: string[] = [];
const closers: (() => void)[] = [];

afterEach(async () => {
  await stopAll(children);
  children.clear();
  for (const close of closers.splice(0)) close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** `docket server --no-worker` on a free port and a temp data dir, once GET /healthz answers. */
async function startServer(env: Record<string, string> = {}): Promise<{ url: string; proc: Proc }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'docket-py-'));
  dirs.push(dataDir);
  const proc = start(
    process.execPath,
    ['bin/docket', 'server', '--no-worker', '--lease-ms', String(LEASE_MS)],
    cleanEnv({ DOCKET_DATA_DIR: dataDir, PORT: String(port), DOCKET_JWT_SECRET: JWT_SECRET, ...env }),
  );
  const url = `http://127.0.0.1:${port}`;
  await until('GET /healthz', async () => {
    if (proc.child.exitCode !== null) throw new Error(`docket server exited with ${proc.child.exitCode}:\n${proc.output()}`);
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    return res?.ok ? true : undefined;
  });
  return { url, proc };
}

/** `docket token --role <role>`; undefined when this build has no such command (no auth yet). */
async function mintToken(role: string): Promise<string | undefined> {
  const proc = start(process.execPath, ['bin/docket', 'token', '--role', role, '--sub', `python-worker-test-${role}`, '--expires', '1h'], cleanEnv({ DOCKET_JWT_SECRET: JWT_SECRET }));
  const code = await proc.exited;
  if (code === 0) return proc.output().trim();
  console.warn(`python-worker.test.ts: \`docket token\` failed (${code}); running without tokens:\n${proc.output()}`);
  return undefined;
}

/** examples/python/example.py pointed at `url`, with the worker token. */
function startPython(url: string, env: Record<string, string> = {}, args: string[] = []): Proc {
  return start(
    PYTHON,
    ['-u', EXAMPLE, ...args],
    // No __pycache__ in the examples folder.
    // Heartbeats every second until a claim shows the lease (then every 0.5 s): the server counts a
    // worker silent for a lease (1.5 s) as lost, idle or not.
    cleanEnv({
      DOCKET_URL: url,
      DOCKET_TOKEN: tokens.worker,
      DOCKET_HEARTBEAT_SECONDS: '1',
      DOCKET_LOG_LEVEL: 'info',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...env,
    }),
  );
}

/** A call with the admin token; throws on an error status. */
async function api(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const headers: Record<string, string> = tokens.admin ? { authorization: `Bearer ${tokens.admin}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function submit(url: string, jobs: object[]): Promise<any[]> {
  return (await api(url, 'POST', '/v1/jobs/bulk', { jobs })).jobs;
}

function untilState(url: string, id: string, state: string, ms = 15_000): Promise<any> {
  return until(`job ${id} to be ${state}`, async () => {
    const job = await api(url, 'GET', `/v1/jobs/${id}`);
    return job.state === state ? job : undefined;
  }, ms);
}

/** The worker's id, once GET /v1/workers lists a worker with this name. */
async function registered(url: string, name: string, worker: Proc): Promise<string> {
  return until(`worker ${name} to register`, async () => {
    if (worker.child.exitCode !== null) throw new Error(`the Python worker exited with ${worker.child.exitCode}:\n${worker.output()}`);
    const { workers } = await api(url, 'GET', '/v1/workers');
    return workers.find((w: { name: string }) => w.name === name)?.id as string | undefined;
  });
}

function logLine(worker: Proc, what: string, pattern: RegExp): Promise<string> {
  return until(what, () => worker.output().split('\n').find((l) => pattern.test(l)));
}

describe.skipIf(!hasPython)('Python example worker (examples/python) against docket server', () => {
  beforeAll(async () => {
    [tokens.admin, tokens.worker] = await Promise.all([mintToken('admin'), mintToken('worker')]);
  });

  it('runs add jobs to their sums and fails a flaky job after its attempts with the Python error', async () => {
    const { url } = await startServer();
    const name = `py-${randomUUID().slice(0, 8)}`;
    const worker = startPython(url, { DOCKET_WORKER_NAME: name, DOCKET_CONCURRENCY: '4' });
    const workerId = await registered(url, name, worker);
    expect((await api(url, 'GET', '/v1/workers')).workers).toContainEqual(expect.objectContaining({ id: workerId, queues: ['default'], capacity: 4 }));

    const fast = { type: 'fixed', delayMs: 50 };
    const adds = await submit(url, Array.from({ length: 6 }, (_, i) => ({ type: 'add', payload: { a: i, b: 0.5 } })));
    const [flaky, recovers, badAdd] = await submit(url, [
      { type: 'flaky', maxAttempts: 2, backoff: fast },
      { type: 'flaky', maxAttempts: 3, backoff: fast, payload: { succeedOnAttempt: 2 } },
      { type: 'add', payload: { a: 1 } },
    ]);

    for (const [i, job] of adds.entries()) {
      expect(await untilState(url, job.id, 'succeeded')).toMatchObject({ result: { sum: i + 0.5 }, attempt: 1, errors: [] });
    }
    const failed = await untilState(url, flaky.id, 'failed');
    expect(failed).toMatchObject({ attempt: 2, stateReason: 'attempts_exhausted' });
    expect(failed.errors).toEqual([
      expect.objectContaining({ attempt: 1, message: 'RuntimeError: flaky failed on attempt 1 of 2', code: 'RuntimeError' }),
      expect.objectContaining({ attempt: 2, message: 'RuntimeError: flaky failed on attempt 2 of 2', code: 'RuntimeError' }),
    ]);
    expect(await untilState(url, recovers.id, 'succeeded')).toMatchObject({ attempt: 2, result: { succeededOnAttempt: 2 } });
    // PermanentError: no retry.
    const bad = await untilState(url, badAdd.id, 'failed');
    expect(bad).toMatchObject({ attempt: 1, stateReason: 'permanent_error' });
    expect(bad.errors[0]).toMatchObject({ code: 'bad_payload', message: expect.stringContaining('add needs numbers a and b') });

    expect(worker.output()).toMatch(new RegExp(`job ${flaky.id} \\(flaky\\) attempt 2/2 failed .*failed for good`));
    expect(worker.child.exitCode).toBeNull();
  });

  it('stops a running job that is cancelled, and on SIGTERM releases its running job, deregisters and exits 0', async () => {
    const { url } = await startServer();
    const name = `py-${randomUUID().slice(0, 8)}`;
    const worker = startPython(url, { DOCKET_WORKER_NAME: name, DOCKET_CONCURRENCY: '2' }, ['--grace', '1']);
    const workerId = await registered(url, name, worker);

    const [doomed] = await submit(url, [{ type: 'slow', payload: { seconds: 30 } }]);
    // Claimed by the Python worker and running there.
    await logLine(worker, 'the worker to claim the slow job', new RegExp(`job ${doomed.id} \\(slow\\) claimed`));
    await untilState(url, doomed.id, 'running');
    expect(await api(url, 'POST', `/v1/jobs/${doomed.id}/cancel`)).toMatchObject({ state: 'cancelled' });
    // The next heartbeat lists it as lost; the worker finds out why and stops the handler.
    await logLine(worker, 'the worker to see the cancel', new RegExp(`job ${doomed.id} \\(slow\\) was cancelled: telling its handler to stop`));
    await logLine(worker, 'the handler to stop', new RegExp(`job ${doomed.id} \\(slow\\) was cancelled: its handler has stopped`));
    const cancelled = await api(url, 'GET', `/v1/jobs/${doomed.id}`);
    expect(cancelled).toMatchObject({ state: 'cancelled', stateReason: 'cancelled_by_user' });
    expect(cancelled).not.toHaveProperty('result');

    // A job still running at shutdown goes back to the queue without counting the attempt.
    const [held] = await submit(url, [{ type: 'slow', payload: { seconds: 30 } }]);
    await untilState(url, held.id, 'running');
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toBe(0);
    expect(await api(url, 'GET', `/v1/jobs/${held.id}`)).toMatchObject({ state: 'ready', stateReason: 'released_by_worker', attempt: 0 });
    expect(worker.output()).toMatch(new RegExp(`job ${held.id} \\(slow\\) released`));
    expect(worker.output()).toContain(`unregistered`);
    const { workers } = await api(url, 'GET', '/v1/workers');
    expect(workers.map((w: { id: string }) => w.id)).not.toContain(workerId);
  });

  it('exits non-zero with a clear message when the server is unreachable or refuses the token', async () => {
    if (tokens.worker) {
      const { url } = await startServer();
      const anonymous = startPython(url, { DOCKET_TOKEN: '' });
      expect(await anonymous.exited).toBe(4);
      expect(anonymous.output()).toMatch(/refused the request: it needs a token, set DOCKET_TOKEN .*401/);
      const forged = startPython(url, { DOCKET_TOKEN: `${tokens.worker.slice(0, -4)}AAAA` });
      expect(await forged.exited).toBe(4);
      expect(forged.output()).toContain('refused the token in DOCKET_TOKEN (HTTP 401');
    }

    const nobody = startPython(`http://127.0.0.1:${await freePort()}`);
    expect(await nobody.exited).toBe(3);
    expect(nobody.output()).toMatch(/cannot reach Docket at http:\/\/127\.0\.0\.1:\d+/);

    // A stand-in for a server with auth on: it records what it was sent and answers 401.
    const seen: IncomingHttpHeaders[] = [];
    const refusing = createHttpServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'urn:docket:problem:unauthorized', title: 'Unauthorized', status: 401, detail: 'token expired', instance: req.url }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    closers.push(() => refusing.close());
    const { port } = refusing.address() as { port: number };
    const denied = startPython(`http://127.0.0.1:${port}`, { DOCKET_TOKEN: 'secret-token' });
    expect(await denied.exited).toBe(4);
    expect(denied.output()).toContain('refused the token in DOCKET_TOKEN');
    expect(denied.output()).toContain('token expired');
    expect(seen[0]?.authorization).toBe('Bearer secret-token');
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT, each attempt is a process span under the submit\'s span, in the caller\'s trace (docs/tracing.md)', async () => {
    const receiver = await startReceiver();
    closers.push(() => void receiver.close());
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' };
    const { url, proc: server } = await startServer(otel);
    const name = `py-${randomUUID().slice(0, 8)}`;
    const worker = startPython(url, { DOCKET_WORKER_NAME: name, ...otel });
    await registered(url, name, worker);

    const traceId = randomUUID().replace(/-/g, '');
    const callerSpan = randomUUID().replace(/-/g, '').slice(0, 16);
    const res = await fetch(`${url}/v1/jobs`, {
      method: 'POST',
      headers: { ...(tokens.admin ? { authorization: `Bearer ${tokens.admin}` } : {}), 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpan}-01` },
      body: JSON.stringify({ type: 'flaky', maxAttempts: 3, backoff: { type: 'fixed', delayMs: 50 }, payload: { succeedOnAttempt: 2 } }),
    });
    const job = (await res.json()) as { id: string };
    expect(await untilState(url, job.id, 'succeeded')).toMatchObject({ attempt: 2 });
    // SIGTERM: both export what they hold on the way out.
    worker.child.kill('SIGTERM');
    server.child.kill('SIGTERM');
    expect(await worker.exited, worker.output()).toBe(0);
    expect(await server.exited, server.output()).toBe(0);

    const send = receiver.spans.find((s) => s.name === 'send default');
    expect(send).toMatchObject({ service: 'docket', traceId, parentSpanId: callerSpan });
    const attempts = receiver.spans.filter((s) => s.name === 'process default').sort((a, b) => Number(a.attributes['docket.job.attempt']) - Number(b.attributes['docket.job.attempt']));
    expect(attempts.map((a) => [a.service, a.traceId, a.parentSpanId, a.kind, a.attributes['docket.job.attempt'], a.attributes['docket.job.outcome']])).toEqual([
      ['docket-worker-python', traceId, send!.spanId, 5, 1, 'retrying'],
      ['docket-worker-python', traceId, send!.spanId, 5, 2, 'succeeded'],
    ]);
    expect(attempts[0]!.attributes).toMatchObject({ 'messaging.system': 'docket', 'messaging.destination.name': 'default', 'messaging.message.id': job.id, 'error.type': 'RuntimeError' });
    expect(attempts[0]!.events.map((e) => e.name)).toEqual(['exception', 'docket.job.retry']);
    expect(attempts[0]!.status.code).toBe(2);
  }, 120_000);
});
