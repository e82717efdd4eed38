// The HTTP worker protocol (register, claim and long-poll, complete, fail, progress, release,
// heartbeat) over real HTTP, on both deployments: embedded (SQLite + memory dispatch) and
// production (PostgreSQL + Redis, whose long-polls wait on Redis wake-ups). Last, a long-poll on
// one production API node woken by a submit to another: only Redis can carry that wake-up.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import type { Docket } from '../src/app/docket.js';
import type { Dispatch } from '../src/ports/dispatch.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import type { ClaimedJob } from '../src/sdk/transport.js';
import { Worker } from '../src/sdk/worker.js';
import type { WorkerDirectory } from '../src/ports/worker-directory.js';
import { adminToken, testAuth } from './helpers/auth.js';
import { deployments, manualProductionCluster, type Deployment, type ManualEngine } from './helpers/deployments.js';
import { until, within } from './helpers/process.js';

let docket: Docket | undefined;
let app: FastifyInstance | undefined;
let workers: WorkerDirectory;
let client: DocketClient;
let transport: HttpTransport;
let base: string;
let token: string;
/** The dispatch's waitForWork, spied on before any claim: a long-poll blocks on it. */
let waits: MockInstance<Dispatch['waitForWork']>;
/** What the engine's loops and the workers reported as trouble: every test ends with none. */
const troubles: unknown[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  app = undefined;
  docket = undefined;
  expect(troubles.splice(0)).toEqual([]);
});

/** A server on an engine of `deployment`, closed after the test. With a manual clock, a long-poll's wait never runs out: only a submit, an abort or a close ends it. */
async function start(deployment: Deployment, clock?: ManualClock) {
  const d = (docket = await deployment.open(clock ? { clock } : {}));
  cleanups.push(() => d.close());
  waits = vi.spyOn(d.dispatch, 'waitForWork');
  workers = d.workers;
  const server = (app = await buildServer({ jobs: d.jobs, workers, recovery: d.recoveryOps, auth: testAuth() }));
  cleanups.push(() => server.close());
  base = await server.listen({ host: '127.0.0.1', port: 0 });
  token = await adminToken();
  client = new DocketClient({ baseUrl: base, token });
  transport = new HttpTransport({ baseUrl: base, token });
  return d;
}

/** Resolves once `n` claims in all have waited for work (the spy is set before any claim starts). */
async function untilClaimWaits(n = 1): Promise<void> {
  await vi.waitFor(() => expect(waits.mock.calls.length, 'claims waiting for work').toBeGreaterThanOrEqual(n), { timeout: 10_000 });
}

/** A remote Worker over HTTP whose troubles are collected; closed after the test if it did not close itself. */
function remoteWorker(options: Omit<ConstructorParameters<typeof Worker>[0], 'transport' | 'logger' | 'onError'>): Worker {
  const worker = new Worker({ transport, logger: pino({ level: 'silent' }), onError: (err, what) => troubles.push({ what, err }), ...options });
  cleanups.push(() => worker.close(1000));
  return worker;
}

async function claimOne(workerId: string, queues = ['default']): Promise<ClaimedJob> {
  const [job] = await transport.claim({ workerId, queues, max: 1, waitMs: 0 });
  expect(job).toBeDefined();
  return job!;
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

describe.each(deployments((c) => cleanups.push(c), { onError: (e) => troubles.push(e) }))('HTTP worker protocol, $name', (deployment) => {
  it('hands a remote worker the same ClaimedJob as in-process, and completes it', async () => {
    const { jobs: service } = await start(deployment);
    const workerId = await transport.register({ queues: ['default'], capacity: 2, name: 'remote-1' });
    const submitted = await client.submit({ type: 'email', payload: { to: 'a@b.c' }, timeoutMs: 5000, labels: { k: 'v' } });
    const job = await claimOne(workerId);
    const stored = await service.queries.get(submitted.id);
    expect(job).toEqual({ ...stored, leaseToken: stored!.leaseToken });
    expect(job).toMatchObject({ state: 'running', attempt: 1, workerId, timeoutMs: 5000 });
    expect(typeof job.createdAt).toBe('number');
    expect(typeof job.leaseExpiresAt).toBe('number');

    expect(await transport.complete(job, { sent: true })).toEqual({ ok: true });
    expect(await client.get(job.id)).toMatchObject({ state: 'succeeded', result: { sent: true } });
    // A second report of the same job is refused, not an error.
    expect(await transport.complete(job, null)).toEqual({ ok: false, reason: 'wrong_state' });
  });

  it('claims across 1,000 queues named in the body, taking from every queue before any twice', async () => {
    await start(deployment);
    const queues = Array.from({ length: 1000 }, (_, i) => `tenant-queue-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < queues.length; i += 250) {
      await client.submitBulk(queues.slice(i, i + 250).flatMap((queue) => [{ type: 't', queue }, { type: 't', queue }]));
    }
    const workerId = await transport.register({ queues: queues.slice(0, 1), capacity: 1000 });
    // Too long for the path: the SDK names them in the body of POST /v1/claims.
    const first = await transport.claim({ workerId, queues, max: 1000, waitMs: 0 });
    expect(first).toHaveLength(1000);
    expect(new Set(first.map((j) => j.queue)).size).toBe(1000);
    const raw = await post('/v1/claims', { workerId, queues, max: 1000 });
    expect(raw.status).toBe(200);
    expect(new Set(raw.body.jobs.map((j: { queue: string }) => j.queue)).size).toBe(1000);
    const bad = await post('/v1/claims', { workerId, queues: ['ok', 'not a name!'], max: 1 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('queues');
  });

  it('long-polls: a claim with waitMs returns as soon as a job is submitted', async () => {
    await start(deployment, new ManualClock());
    const workerId = await transport.register({ queues: ['q'], capacity: 1 });
    const claiming = transport.claim({ workerId, queues: ['q'], max: 5, waitMs: 10_000 });
    await untilClaimWaits();
    const submitted = await client.submit({ type: 'x', queue: 'q' });
    // The clock stands still, so the 10 s wait cannot run out: only the submit can end it.
    const jobs = await within('the waiting claim to return after the submit', claiming);
    expect(jobs.map((j) => j.id)).toEqual([submitted.id]);
    // Nothing ready and no wait: an empty answer at once.
    expect(await transport.claim({ workerId, queues: ['q'], max: 5, waitMs: 0 })).toEqual([]);
  });

  it('long-polls: a claim with nothing to take answers empty once its wait runs out, leaving other queues alone', async () => {
    const clock = new ManualClock();
    await start(deployment, clock);
    const elsewhere = await client.submit({ type: 'x', queue: 'other' });
    const workerId = await transport.register({ queues: ['q'], capacity: 1 });
    const claiming = transport.claim({ workerId, queues: ['q'], max: 5, waitMs: 10_000 });
    await untilClaimWaits();
    // The wait is on the manual clock: moving it past 10 s is what ends the poll.
    clock.advance(10_000);
    expect(await within('the long-poll to answer once its wait ran out', claiming)).toEqual([]);
    expect((await client.get(elsewhere.id)).state).toBe('ready');
  });

  it('stops the long-poll when the client goes away, without taking jobs', async () => {
    await start(deployment, new ManualClock());
    const served = vi.spyOn(docket!.jobs.claims, 'claim');
    const controller = new AbortController();
    const claiming = transport.claim({ workerId: 'w', queues: ['q'], max: 1, waitMs: 10_000, signal: controller.signal });
    await untilClaimWaits();
    controller.abort();
    await expect(claiming).rejects.toThrow();
    // The server's claim ended (the clock stands still: only the abort could end it), empty-handed.
    expect(await within("the server's claim to end after the abort", served.mock.results[0]!.value as Promise<unknown>)).toEqual([]);
    const job = await client.submit({ type: 'x', queue: 'q' });
    expect((await client.get(job.id)).state).toBe('ready');
    // Nobody ran it meanwhile: the next claim gets it at its first attempt.
    expect((await claimOne('w2', ['q'])).attempt).toBe(1);
  });

  it('ends pending long-polls when the server closes', async () => {
    await start(deployment, new ManualClock());
    const claiming = transport.claim({ workerId: 'w', queues: ['q'], max: 1, waitMs: 60_000 });
    await untilClaimWaits();
    // The clock stands still: the 60 s wait cannot run out, only the close can end the poll.
    await within('the server to close with a long-poll pending', app!.close());
    expect(await within('the long-poll to end', claiming)).toEqual([]);
  });

  it('claims from several queues at once and by priority range', async () => {
    await start(deployment);
    await client.submitBulk([
      { type: 'a', queue: 'q1', priority: 9 },
      { type: 'b', queue: 'q2', priority: 2 },
      { type: 'c', queue: 'q3', priority: 1 },
    ]);
    const urgent = await transport.claim({ workerId: 'w', queues: ['q1', 'q2'], max: 5, waitMs: 0, range: { min: 1, max: 3 } });
    expect(urgent.map((j) => j.type)).toEqual(['b']);
    expect((await transport.claim({ workerId: 'w', queues: ['q1', 'q2'], max: 5, waitMs: 0 })).map((j) => j.type)).toEqual(['a']);
    expect((await post('/v1/queues/q1/claim', { workerId: 'w', max: 0 })).status).toBe(400);
    expect((await post('/v1/queues/q1/claim', { workerId: 'w', max: 1, waitMs: 60_001 })).body.errors[0].path).toBe('/waitMs');
    expect((await post('/v1/queues/q1/claim', { workerId: 'w', max: 1, priorityMin: 5, priorityMax: 2 })).body.errors[0].path).toBe('/priorityMin');
  });

  it('refuses a stale lease token with 409 and leaves the job unchanged', async () => {
    await start(deployment);
    await client.submit({ type: 'x' });
    const first = await claimOne('w1');
    // The first holder gives the job back; another worker claims it under a fresh token.
    expect(await transport.release(first)).toEqual({ ok: true });
    const second = await claimOne('w2');
    expect(second.leaseToken).not.toBe(first.leaseToken);
    const before = await client.get(first.id);

    const stale = await post(`/v1/jobs/${first.id}/complete`, { leaseToken: first.leaseToken, result: 'late' });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ status: 409, type: 'urn:docket:problem:lease-mismatch' });
    expect(await transport.complete(first, 'late')).toEqual({ ok: false, reason: 'lease_mismatch' });
    expect(await transport.fail(first, { message: 'late' })).toEqual({ ok: false, reason: 'lease_mismatch' });
    expect(await transport.progress(first, 50)).toEqual({ ok: false, reason: 'lease_mismatch' });
    expect(await client.get(first.id)).toEqual(before);
    expect(before).toMatchObject({ state: 'running', workerId: 'w2' });
    expect(before).not.toHaveProperty('result');

    expect((await post('/v1/jobs/nope/complete', { leaseToken: 't' })).status).toBe(404);
    expect(await transport.complete({ ...second, id: 'nope' }, null)).toEqual({ ok: false, reason: 'not_found' });
  });

  it('fails a job: retryable=false fails it for good, otherwise it retries', async () => {
    await start(deployment);
    await client.submit({ type: 'permanent' });
    const job = await claimOne('w');
    // The ack carries what the failure did, for the attempt's span (docs/tracing.md).
    expect(await transport.fail(job, { message: 'bad input', code: 'EINVAL', retryable: false })).toEqual({ ok: true, job: expect.objectContaining({ id: job.id, state: 'failed' }) });
    const failed = await client.get(job.id);
    expect(failed).toMatchObject({ state: 'failed', stateReason: 'permanent_error', errors: [{ message: 'bad input', code: 'EINVAL', attempt: 1 }] });
    expect(failed.errors[0]!.at).toMatch(/Z$/);

    await client.submit({ type: 'transient', maxAttempts: 3 });
    const other = await claimOne('w');
    expect(await transport.fail(other, { message: 'try again' })).toEqual({ ok: true, job: expect.objectContaining({ id: other.id, state: 'retrying', attempt: 1 }) });
    expect((await client.get(other.id)).state).toBe('retrying');
  });

  it('records progress and releases a job', async () => {
    await start(deployment);
    await client.submit({ type: 'x' });
    const job = await claimOne('w');
    expect(await transport.progress(job, 40, 'resizing')).toEqual({ ok: true });
    const progress = await client.progress(job.id);
    expect(progress).toEqual({ state: 'running', progress: { percent: 40, message: 'resizing' } });
    expect((await post(`/v1/jobs/${job.id}/progress`, { leaseToken: job.leaseToken, percent: 101 })).body.errors[0].path).toBe('/percent');

    expect(await transport.release(job)).toEqual({ ok: true });
    expect(await client.get(job.id)).toMatchObject({ state: 'ready', attempt: 0 });
    expect((await post(`/v1/jobs/${job.id}/release`, { leaseToken: job.leaseToken })).status).toBe(409);
  });

  it('heartbeats extend leases and report cancelled jobs as lost', async () => {
    const clock = new ManualClock();
    await start(deployment, clock);
    const workerId = await transport.register({ queues: ['default'], capacity: 2 });
    await client.submitBulk([{ type: 'keep' }, { type: 'drop' }]);
    const jobs = await transport.claim({ workerId, queues: ['default'], max: 2, waitMs: 0 });
    const keep = jobs.find((j) => j.type === 'keep')!;
    const drop = jobs.find((j) => j.type === 'drop')!;
    await client.cancel(drop.id);
    clock.advance(5); // the heartbeat comes later than the registration and the claim
    expect(await transport.heartbeat(workerId, jobs)).toEqual({ lost: [drop.id], cancelled: [drop.id] });
    const after = await docket!.jobs.queries.get(keep.id);
    expect(after!.leaseExpiresAt!).toBeGreaterThan(keep.leaseExpiresAt!);
    const record = (await workers.get(workerId))!;
    expect(record.lastHeartbeatAt).toBeGreaterThan(record.registeredAt);
  });

  it('aborts the handler of a cancelled job in a remote Worker: it hears of it through its heartbeat', async () => {
    await start(deployment);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let aborted!: (reason: unknown) => void;
    const abortedWith = new Promise<unknown>((r) => (aborted = r));
    const worker = remoteWorker({
      queues: ['default'],
      heartbeatMs: 50,
      pollWaitMs: 1000,
      handlers: {
        wait: (_job, { signal }) =>
          new Promise((_, reject) => {
            started();
            signal.addEventListener('abort', () => (aborted(signal.reason), reject(signal.reason)));
          }),
      },
    });
    await worker.start();
    const job = await client.submit({ type: 'wait' });
    await within('the handler to start', running);
    await client.cancel(job.id);
    expect((await within("the handler's abort", abortedWith)) as Error).toMatchObject({ name: 'CancelledError' });
    expect(await client.get(job.id)).toMatchObject({ state: 'cancelled' });
  });

  it('registers again when the server no longer knows the worker (restart)', async () => {
    await start(deployment);
    const workerId = await transport.register({ queues: ['default'], capacity: 1, name: 'w' });
    await workers.unregister(workerId); // what a restart does to an embedded server's in-memory registry, or an expired entry to Redis's
    expect(await transport.heartbeat(workerId, [])).toEqual({ lost: [], cancelled: [] });
    const now = await workers.list();
    expect(now).toHaveLength(1);
    expect(now[0]!.id).not.toBe(workerId);
    await transport.unregister(workerId);
    expect(await workers.list()).toEqual([]);
  });

  it('runs a Worker end to end over HTTP', async () => {
    await start(deployment);
    const worker = remoteWorker({
      queues: ['media'],
      concurrency: 2,
      heartbeatMs: 50,
      pollWaitMs: 1000,
      handlers: {
        resize: async (job, ctx) => {
          await ctx.progress(50, 'half');
          return { width: (job.payload as { w: number }).w / 2 };
        },
        broken: () => {
          throw new Error('boom');
        },
      },
    });
    await worker.start();
    const [ok, bad] = await client.submitBulk([
      { type: 'resize', queue: 'media', payload: { w: 640 } },
      { type: 'broken', queue: 'media', maxAttempts: 1 },
    ]);
    await until('both jobs to finish', async () => ((await Promise.all([client.get(ok!.id), client.get(bad!.id)])).every((j) => j.finishedAt !== null) ? true : undefined), 10_000, 20);
    expect(await client.get(ok!.id)).toMatchObject({ state: 'succeeded', result: { width: 320 }, progress: { percent: 50, message: 'half' } });
    expect(await client.get(bad!.id)).toMatchObject({ state: 'failed', errors: [{ message: 'boom' }] });
  });
});

describe('long-poll across API nodes, production (PostgreSQL + Redis)', () => {
  it('a long-poll on one node returns as soon as a job is submitted to another: the wake-up crosses Redis', async () => {
    // Two manual engines on one schema and key prefix, as two API processes share them; each clock
    // stands still, so the long-poll's wait cannot run out: only the wake-up can end it.
    const cluster = await manualProductionCluster(2);
    cleanups.push(() => cluster.cleanup());
    const serve = async (i: number) => {
      const e = cluster.engines[i]!;
      const server = await buildServer({ jobs: e.service, workers: e.docket.workers, recovery: e.docket.recoveryOps, auth: testAuth() });
      cleanups.push(() => server.close());
      return server.listen({ host: '127.0.0.1', port: 0 });
    };
    const [first, second] = [await serve(0), await serve(1)];
    token = await adminToken();
    const polling = new HttpTransport({ baseUrl: first, token });
    waits = vi.spyOn(cluster.engines[0]!.dispatch, 'waitForWork');
    const workerId = await polling.register({ queues: ['q'], capacity: 1 });
    const claiming = polling.claim({ workerId, queues: ['q'], max: 5, waitMs: 10_000 });
    await untilClaimWaits();
    const submitted = await new DocketClient({ baseUrl: second, token }).submit({ type: 'x', queue: 'q' });
    const jobs = await within('the long-poll on the first node to return after the submit to the second', claiming);
    expect(jobs.map((j) => j.id)).toEqual([submitted.id]);
    expect(jobs[0]).toMatchObject({ state: 'running', workerId, attempt: 1 });
  });

  it('a pause and a resume on one node reach the other at once: its long-poll on the resumed queue returns the waiting job', async () => {
    // Manual engines: no housekeeper reloads the paused set, so only the announcement through Redis can.
    const cluster = await manualProductionCluster(2);
    cleanups.push(() => cluster.cleanup());
    const [one, two] = cluster.engines as [ManualEngine, ManualEngine];
    await one.service.pauses.set('q', true);
    await until('the other node hears of the pause', async () => (two.service.pauses.isPaused('q') ? true : undefined));
    const [job] = await two.service.submit({ type: 'x', queue: 'q' });
    waits = vi.spyOn(two.dispatch, 'waitForWork');
    const workerId = await two.docket.workers.register({ queues: ['q'] });
    const claiming = two.service.claims.claim({ workerId, queues: ['q'], max: 5, waitMs: 10_000 });
    await untilClaimWaits();
    await one.service.pauses.set('q', false);
    const jobs = await within('the long-poll on the second node to return after the resume on the first', claiming);
    expect(jobs.map((j) => j.id)).toEqual([job!.id]);
    expect(two.service.pauses.isPaused('q')).toBe(false);
  });
});
