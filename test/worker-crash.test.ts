// End to end: a remote worker process (`docket worker`) dies with SIGKILL while it holds a job.
// The lease must keep the job away from other workers until it runs out; then the reaper gives it
// back (or fails it on the last attempt), and the dead worker's lease token is worthless.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import type { Job } from '../src/domain/job.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import type { LifecycleEvent } from '../src/services/lifecycle.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { until, within } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LEASE_MS = 1000;

let dir: string | undefined;
let docket: Docket | undefined;
let app: FastifyInstance | undefined;
let base = '';
let token = '';
let second: Worker | undefined;
const children: ChildProcess[] = [];
let events: LifecycleEvent[] = [];
let wakeWaiters: (() => void)[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await second?.close(100);
  await app?.close();
  await docket?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  second = app = docket = dir = undefined;
});

async function start(): Promise<Docket> {
  dir = mkdtempSync(join(tmpdir(), 'docket-crash-'));
  // The lease takes the job back here, not the worker monitor: heartbeats are overdue long after
  // it (by default they are due within the lease, and the two then race to take the job back).
  docket = await openEmbedded({ path: join(dir, 'docket.db'), leaseMs: LEASE_MS, maintenanceIntervalMs: 100, heartbeatTimeoutMs: 60_000 });
  events = [];
  wakeWaiters = [];
  docket.jobs.transitions.lifecycle.on((e) => {
    events.push(e);
    for (const wake of wakeWaiters) wake();
  });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = await tokenFor('default', ['worker']);
  return docket;
}

/** The first lifecycle event (past or future) matching `pred`; fails after `ms`. */
function event(what: string, pred: (e: LifecycleEvent) => boolean, ms = 10_000): Promise<LifecycleEvent> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = events.find(pred);
      if (!found) return false;
      clearTimeout(timer);
      wakeWaiters = wakeWaiters.filter((w) => w !== check);
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      wakeWaiters = wakeWaiters.filter((w) => w !== check);
      reject(new Error(`no lifecycle event "${what}" within ${ms} ms; saw: ${events.map((e) => `${e.from}->${e.to}`).join(', ')}`));
    }, ms);
    if (!check()) wakeWaiters.push(check);
  });
}

/** Starts `docket worker` on the hanging handlers; resolves with the child and its stdout lines. */
function spawnWorker() {
  const child = spawn(
    process.execPath,
    ['bin/docket', 'worker', '--handlers', 'test/fixtures/hang-handlers.js', '--url', base, '--heartbeat-ms', '200', '--concurrency', '1'],
    { cwd: ROOT, env: { ...process.env, DOCKET_LOG_LEVEL: 'warn', DOCKET_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let output = '';
  const seen: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  child.stderr!.on('data', (d) => (output += d));
  lines.on('line', (l) => {
    seen.push(l);
    output += `${l}\n`;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** Resolves when the handler of job `id` announced (or announces) it started; fails if the child exits first. */
  const handlerStarted = (id: string) =>
    within(
      `the handler of ${id} to start`,
      new Promise<void>((resolve, reject) => {
        const announced = (l: string) => l.startsWith(`handler-started ${id}`) && (resolve(), true);
        if (seen.some(announced)) return;
        lines.on('line', announced);
        void exited.then(() => reject(new Error(`worker exited with ${child.exitCode}:\n${output}`)));
      }),
    );
  return { child, exited, handlerStarted };
}

/** Polls the store (bounded) until `pred` holds for the job. */
const jobReaches = (id: string, what: string, pred: (j: Job) => boolean) =>
  until(`job ${id}: ${what}`, async () => {
    const job = (await docket!.jobs.queries.get(id))!;
    return pred(job) ? job : undefined;
  }, 5000);

/** Runs a job on the child worker, waits for its heartbeats to extend the lease, then SIGKILLs it. */
async function killWhileRunning(maxAttempts: number) {
  const { jobs: service } = await start();
  const worker = spawnWorker();
  const [job] = await service.submitter.submit([{ type: 'hang', payload: { n: 1 }, maxAttempts }], { tenant: 'default' });
  const id = job!.id;
  const claimed = (await event('claimed by the child', (e) => e.job.id === id && e.to === 'running')).job;
  expect(claimed).toMatchObject({ attempt: 1, workerId: expect.any(String) });
  const oldToken = claimed.leaseToken!;
  await worker.handlerStarted(id);
  // The child is alive: its heartbeats (every 200 ms) push the lease forward.
  await jobReaches(id, 'lease extended by a heartbeat', (j) => j.leaseExpiresAt! > claimed.leaseExpiresAt!);

  expect(worker.child.exitCode).toBeNull(); // alive until we kill it
  worker.child.kill('SIGKILL');
  await worker.exited;
  const afterKill = (await service.queries.get(id))!;
  const checkedAt = Date.now();
  expect(afterKill).toMatchObject({ state: 'running', leaseToken: oldToken, attempt: 1 });
  expect(afterKill.leaseExpiresAt!).toBeGreaterThan(checkedAt); // still leased: nobody may take it yet
  return { service, id, oldToken, leaseEnd: afterKill.leaseExpiresAt!, claimEvent: events.findIndex((e) => e.job.id === id && e.to === 'running') };
}

async function postComplete(id: string, leaseToken: string, result: unknown) {
  const res = await fetch(`${base}/v1/jobs/${id}/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ leaseToken, result }),
  });
  return { status: res.status, body: (await res.json()) as { type?: string; state?: string } };
}

describe('a worker process killed while it holds a job', () => {
  it('keeps the job leased until the lease runs out, then another worker reruns it and the dead lease is refused', async () => {
    const { service, id, oldToken, leaseEnd, claimEvent } = await killWhileRunning(3);

    // A second worker is waiting for work from now on: it must not get the job while the lease is valid.
    second = new Worker({
      transport: new LocalTransport(service),
      handlers: { hang: async (job) => ({ by: 'second', attempt: job.attempt }) },
      concurrency: 1,
      heartbeatMs: 200,
      pollWaitMs: 1000,
      logger: pino({ level: 'silent' }),
    });
    await second.start();

    const reaped = await event('reaped', (e) => e.job.id === id && e.from === 'running' && e.to === 'ready');
    // After the lease ran out, never before; that the reaper takes it on its first run after
    // the lease end is checked on a manual clock (test/lifecycle-rules.test.ts).
    expect(reaped.at).toBeGreaterThanOrEqual(leaseEnd);
    expect(reaped.job).toMatchObject({ state: 'ready', stateReason: 'lease_expired', attempt: 1, leaseExpiresAt: null });
    expect(reaped.job.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);
    // Between the first claim and the reaping nothing happened to the job: no rerun under a valid lease.
    const between = events.slice(claimEvent + 1, events.indexOf(reaped)).filter((e) => e.job.id === id);
    expect(between).toEqual([]);

    const rerun = (await event('claimed again', (e) => e.job.id === id && e.to === 'running' && e.job.attempt === 2)).job;
    expect(rerun.leaseToken).not.toBe(oldToken);
    expect(rerun.workerId).toBe(second.id);
    await event('succeeded', (e) => e.job.id === id && e.to === 'succeeded');
    const done = (await service.queries.get(id))!;
    expect(done).toMatchObject({ state: 'succeeded', attempt: 2, result: { by: 'second', attempt: 2 }, workerId: second.id });
    expect(done.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);

    // The dead worker's late report, in-process and over HTTP, changes nothing.
    const late = await service.outcomes.complete(id, oldToken, { by: 'dead worker' });
    expect(late.ok).toBe(false);
    const overHttp = await postComplete(id, oldToken, { by: 'dead worker' });
    expect(overHttp.status).toBe(409);
    expect(overHttp.body.type).toMatch(/^urn:docket:problem:/);
    expect(await service.queries.get(id)).toEqual(done);
    expect(events.filter((e) => e.job.id === id).map((e) => e.to)).toEqual(['ready', 'running', 'ready', 'running', 'succeeded']);
  });

  it('fails the job with reason lease_expired when the killed attempt was the last', async () => {
    const { service, id, oldToken, leaseEnd } = await killWhileRunning(1);

    const failed = await event('failed', (e) => e.job.id === id && e.to === 'failed');
    expect(failed.from).toBe('running');
    expect(failed.at).toBeGreaterThanOrEqual(leaseEnd);
    const job = (await service.queries.get(id))!;
    expect(job).toMatchObject({ state: 'failed', stateReason: 'lease_expired', attempt: 1, leaseExpiresAt: null, finishedAt: expect.any(Number) });
    expect(job.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);

    expect((await postComplete(id, oldToken, 'too late')).status).toBe(409);
    expect((await service.outcomes.complete(id, oldToken, 'too late')).ok).toBe(false);
    expect(await service.queries.get(id)).toEqual(job);
  });
});
