import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import type { Docket } from '../src/app/docket.js';
import { DocketClient, type JobView } from '../src/sdk/client.js';
import { adminToken, tokenFor } from './helpers/auth.js';
import { both, type ServerExtras } from './helpers/both.js';
import type { DeploymentOptions } from './helpers/deployments.js';
import { until, within } from './helpers/process.js';

/**
 * End-to-end checks of the API features over real HTTP: idempotent submits, resubmit, queues
 * (depths, pause/resume), list filters and cursors, readiness, and remote workers that go silent
 * (rate limits: http-rate-limits.test.ts). Every test starts its own engine and server, on both
 * deployments (embedded; PostgreSQL + Redis), but readiness, which is the server's alone.
 */

let base: string;

const { onBoth, ...engines } = both();

/** An engine of the enclosing group's deployment and the API served on it (`base`). */
async function start(engine: DeploymentOptions = {}, server: (d: Docket) => ServerExtras = () => ({})): Promise<Docket> {
  const started = await engines.start(engine, server);
  base = started.base;
  return started.docket;
}

interface Reply {
  status: number;
  headers: Headers;
  type: string;
  text: string;
  body: any;
}

/** One raw HTTP call: status, headers and the parsed body, whatever the status. */
async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, type: res.headers.get('content-type') ?? '', text, body: text ? JSON.parse(text) : undefined };
}

const client = (token: string, tenant?: string) => new DocketClient({ baseUrl: base, token, ...(tenant ? { tenant } : {}) });

/** Expects an RFC 9457 problem reply with this status. */
function expectProblem(r: Reply, status: number): void {
  expect(r.status, r.text).toBe(status);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status, type: expect.stringMatching(/^urn:docket:problem:/), title: expect.any(String), detail: expect.any(String) });
}

/** All jobs a caller can see (every page). */
async function allJobs(token: string, query = ''): Promise<JobView[]> {
  const jobs: JobView[] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const r = await call('GET', `/v1/jobs?${query}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
    expect(r.status, r.text).toBe(200);
    jobs.push(...r.body.jobs);
    cursor = r.body.nextCursor;
  } while (cursor);
  return jobs;
}

const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id);

// ---- 1. Idempotency-Key -------------------------------------------------------------------------

onBoth('Idempotency-Key on submits', () => {
  it('replays the first single submit, creates nothing more, and refuses the key with another body (422)', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const body = { type: 'email', payload: { to: 'a@b.c' }, priority: 3 };
    const headers = { 'idempotency-key': 'order-42' };

    const first = await call('POST', '/v1/jobs', { token, body, headers });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body).toMatchObject({ type: 'email', state: 'ready', tenant: 'acme', priority: 3 });

    const retry = await call('POST', '/v1/jobs', { token, body, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.type).toContain('application/json');
    expect(retry.body).toEqual(first.body);
    expect(await allJobs(token)).toHaveLength(1);

    const other = await call('POST', '/v1/jobs', { token, body: { ...body, priority: 4 }, headers });
    expectProblem(other, 422);
    expect(other.body.detail).toContain('order-42');
    expect(ids(await allJobs(token))).toEqual([first.body.id]);

    // The SDK sends the header too and gets the same job.
    expect((await client(token).submit(body, { idempotencyKey: 'order-42' })).id).toBe(first.body.id);
    // Without a key, the same body is a new job.
    expect((await call('POST', '/v1/jobs', { token, body })).body.id).not.toBe(first.body.id);
    expect(await allJobs(token)).toHaveLength(2);
  });

  it('replays a bulk submit with the same job ids and refuses the key with another body (422)', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const body = { jobs: [{ type: 'a' }, { type: 'b', queue: 'q2' }, { type: 'c', payload: { n: 1 } }] };
    const headers = { 'idempotency-key': 'batch-1' };

    const first = await call('POST', '/v1/jobs/bulk', { token, body, headers });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body.jobs).toHaveLength(3);

    const retry = await call('POST', '/v1/jobs/bulk', { token, body, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(ids(retry.body.jobs)).toEqual(ids(first.body.jobs));
    expect((await allJobs(token)).length).toBe(3);

    const other = await call('POST', '/v1/jobs/bulk', { token, body: { jobs: [{ type: 'a' }] }, headers });
    expectProblem(other, 422);
    expect(other.body.detail).toContain('batch-1');
    expect(ids(await allJobs(token)).sort()).toEqual(ids(first.body.jobs).sort());

    const viaSdk = await client(token).submitBulk(body.jobs, { idempotencyKey: 'batch-1' });
    expect(ids(viaSdk)).toEqual(ids(first.body.jobs));
  });

  it('does not store a key when the submit is refused, so a corrected retry with the key works', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const headers = { 'idempotency-key': 'fix-me' };
    expectProblem(await call('POST', '/v1/jobs', { token, body: { type: 'x', priority: 0 }, headers }), 400);
    const ok = await call('POST', '/v1/jobs', { token, body: { type: 'x', priority: 1 }, headers });
    expect(ok.status).toBe(201);
    expect(ok.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keeps keys per tenant: the same key in another tenant creates that tenant its own job', async () => {
    await start();
    const acme = await tokenFor('acme', ['submitter']);
    const globex = await tokenFor('globex', ['submitter']);
    const body = { type: 'report' };
    const headers = { 'idempotency-key': 'shared-key' };

    const a = await call('POST', '/v1/jobs', { token: acme, body, headers });
    const g = await call('POST', '/v1/jobs', { token: globex, body, headers });
    expect(a.status).toBe(201);
    expect(g.status).toBe(201);
    expect(g.headers.get('idempotent-replayed')).toBeNull();
    expect(g.body.id).not.toBe(a.body.id);
    expect(g.body.tenant).toBe('globex');
    expect(ids(await allJobs(acme))).toEqual([a.body.id]);
    expect(ids(await allJobs(globex))).toEqual([g.body.id]);
    // Another body under the key in the other tenant is that tenant's conflict only.
    expectProblem(await call('POST', '/v1/jobs', { token: globex, body: { type: 'other' }, headers }), 422);
  });

  it('20 concurrent submits with one key and body create exactly one job, and all get its id', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const body = { type: 'charge', payload: { amount: 10 } };
    const headers = { 'idempotency-key': 'charge-7' };

    const replies = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/v1/jobs', { token, body, headers })));
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(201));
    const seen = new Set(replies.map((r) => r.body.id));
    expect(seen.size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(ids(await allJobs(token))).toEqual([...seen]);
  });
});

// ---- 2. Resubmit --------------------------------------------------------------------------------

onBoth('POST /v1/jobs/{id}/resubmit', () => {
  it('submits a finished job again as a new job with the same spec and linkId', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const c = client(token);
    const old = await c.submit({ type: 'resize', queue: 'images', payload: { w: 640, tags: ['a'] }, priority: 2, labels: { team: 'x' }, linkId: 'upload-9' });
    await c.cancel(old.id);

    const r = await call('POST', `/v1/jobs/${old.id}/resubmit`, { token });
    expect(r.status, r.text).toBe(201);
    expect(r.body.id).not.toBe(old.id);
    expect(r.body).toMatchObject({
      type: 'resize',
      queue: 'images',
      payload: { w: 640, tags: ['a'] },
      priority: 2,
      labels: { team: 'x' },
      linkId: 'upload-9',
      resubmittedFrom: old.id,
      state: 'ready',
      tenant: 'acme',
      attempt: 0,
      errors: [],
    });
    expect(await c.get(old.id)).toMatchObject({ state: 'cancelled', resubmittedFrom: null });
    expect(await c.get(r.body.id)).toEqual(r.body);
    expect(ids((await c.list({ linkId: 'upload-9' })).jobs)).toEqual([r.body.id, old.id]);

    // A job without an explicit linkId is linked by its own id.
    const plain = await c.submit({ type: 'p' });
    await c.cancel(plain.id);
    expect(await c.resubmit(plain.id)).toMatchObject({ linkId: plain.id, resubmittedFrom: plain.id });
  });

  it('refuses a job that has not finished (409), an unknown id and another tenant\'s job (404)', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const ready = await client(token).submit({ type: 'x' });

    const conflict = await call('POST', `/v1/jobs/${ready.id}/resubmit`, { token });
    expectProblem(conflict, 409);
    expect(conflict.body.detail).toContain('ready');
    expectProblem(await call('POST', '/v1/jobs/0190b0b0-0000-7000-8000-000000000000/resubmit', { token }), 404);

    await client(token).cancel(ready.id);
    const globex = await tokenFor('globex', ['submitter']);
    expectProblem(await call('POST', `/v1/jobs/${ready.id}/resubmit`, { token: globex }), 404);
    expect(await allJobs(token)).toHaveLength(1);
  });
});

// ---- 3. Queues ----------------------------------------------------------------------------------

onBoth('queues: depths, pause and resume', () => {
  it('lists queues with counts per state, the caller\'s tenant only unless admin', async () => {
    await start();
    const acme = client(await tokenFor('acme', ['submitter']));
    const globex = client(await tokenFor('globex', ['submitter']));
    const admin = client(await adminToken());
    await acme.submit({ type: 'a', queue: 'q-a' });
    const x = await acme.submit({ type: 'a', queue: 'q-a' });
    await acme.cancel(x.id);
    await globex.submit({ type: 'g', queue: 'q-a' });
    await globex.submit({ type: 'g', queue: 'q-b' });
    await globex.submit({ type: 'g', queue: 'q-b', delayMs: 60_000 });

    const mine = await acme.queues();
    expect(mine.map((q) => q.name)).toEqual(['q-a']);
    expect(mine[0]).toMatchObject({ name: 'q-a', paused: false, counts: { ready: 1, cancelled: 1, running: 0 } });

    const all = await admin.queues();
    expect(all.map((q) => q.name)).toEqual(['q-a', 'q-b']);
    expect(all[0]!.counts).toMatchObject({ ready: 2, cancelled: 1 });
    expect(all[1]!.counts).toMatchObject({ ready: 1, scheduled: 1, cancelled: 0 });

    // A viewer reads the depths of its tenant too; a worker token sees them as well.
    const viewer = await call('GET', '/v1/queues', { token: await tokenFor('globex', ['viewer']) });
    expect(viewer.status).toBe(200);
    expect(viewer.body.queues.map((q: { name: string }) => q.name)).toEqual(['q-a', 'q-b']);
    expect(viewer.body.queues[0].counts.ready).toBe(1);
  });

  it('a paused queue hands out no job but accepts submits; only admins pause', async () => {
    await start();
    const submitter = await tokenFor('acme', ['submitter']);
    const admin = await adminToken();
    const worker = await tokenFor('acme', ['worker']);
    const job = await client(submitter).submit({ type: 'x', queue: 'slow' });
    await client(submitter).submit({ type: 'y', queue: 'fast' });

    expectProblem(await call('POST', '/v1/queues/slow/pause', { token: submitter }), 403);
    const paused = await call('POST', '/v1/queues/slow/pause', { token: admin });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ name: 'slow', paused: true, counts: { ready: 1 } });

    const claim = await call('POST', '/v1/queues/slow/claim', { token: worker, body: { workerId: 'w1', max: 10 } });
    expect(claim.status, claim.text).toBe(200);
    expect(claim.body.jobs).toEqual([]);
    expect((await client(submitter).get(job.id)).state).toBe('ready');
    // Several queues at once: the paused one is skipped.
    const both = await client(worker).claim(['slow', 'fast'], 'w1', { max: 10 });
    expect(both.map((j) => j.queue)).toEqual(['fast']);

    const later = await call('POST', '/v1/jobs', { token: submitter, body: { type: 'z', queue: 'slow' } });
    expect(later.status).toBe(201);
    expect(later.body.state).toBe('ready');

    const listing = await client(submitter).queues();
    expect(listing.find((q) => q.name === 'slow')).toMatchObject({ paused: true, counts: { ready: 2 } });
    expect(listing.find((q) => q.name === 'fast')).toMatchObject({ paused: false });
    expect((await client(admin).queues()).find((q) => q.name === 'slow')?.paused).toBe(true);

    const resumed = await client(admin).resumeQueue('slow');
    expect(resumed).toMatchObject({ name: 'slow', paused: false, counts: { ready: 2 } });
    expect((await client(submitter).queues()).find((q) => q.name === 'slow')?.paused).toBe(false);
    expect(await client(worker).claim('slow', 'w1', { max: 10 })).toHaveLength(2);
  });
});

// The long-poll's wait is the dispatch's (Redis in production): on both deployments.
onBoth('queues: a long-poll on a paused queue', () => {
  it('a long-poll waiting on a paused queue gets the job promptly after resume', async () => {
    // A manual clock stands still: the 5 s wait cannot run out, only the resume can end it.
    const d = await start({ clock: new ManualClock() });
    const waits = vi.spyOn(d.dispatch, 'waitForWork');
    const admin = await adminToken();
    const worker = await tokenFor('default', ['worker']);
    const job = await client(admin).submit({ type: 'x', queue: 'held' });
    await client(admin).pauseQueue('held');

    let settled = false;
    const poll = call('POST', '/v1/queues/held/claim', { token: worker, body: { workerId: 'w1', max: 1, waitMs: 5000 } }).finally(() => {
      settled = true;
    });
    // While paused, the long-poll holds (the job is ready, but not handed out): it waits for work.
    await vi.waitFor(() => expect(waits, 'the claim waiting for work').toHaveBeenCalled(), { timeout: 10_000 });
    expect(settled).toBe(false);

    expect((await call('POST', '/v1/queues/held/resume', { token: admin })).status).toBe(200);
    const reply = await within('the long-poll to return after the resume', poll);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.jobs.map((j: JobView) => j.id)).toEqual([job.id]);
    expect(reply.body.jobs[0]).toMatchObject({ state: 'running', queue: 'held', leaseToken: expect.any(String) });
  });
});

// ---- 4. List filters and cursors ----------------------------------------------------------------

onBoth('GET /v1/jobs filters', () => {
  it('filters by labels (all must match), linkId, state and type', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const c = client(token);
    const j1 = await c.submit({ type: 'resize', labels: { region: 'eu', tier: 'gold' }, linkId: 'req-1' });
    const j2 = await c.submit({ type: 'resize', labels: { region: 'eu', tier: 'silver' } });
    const j3 = await c.submit({ type: 'email', labels: { region: 'us', tier: 'gold', src: 'http://x.y/z=1' }, linkId: 'req-1' });
    await c.cancel(j2.id);

    const q = async (query: string) => {
      const r = await call('GET', `/v1/jobs?${query}`, { token });
      expect(r.status, r.text).toBe(200);
      return ids(r.body.jobs);
    };
    expect(await q('label=region=eu')).toEqual([j2.id, j1.id]);
    expect(await q('label=region=eu&label=tier=gold')).toEqual([j1.id]);
    expect(await q('label=tier=gold')).toEqual([j3.id, j1.id]);
    expect(await q('label=region=eu&label=tier=bronze')).toEqual([]);
    expect(await q('label=region=asia')).toEqual([]);
    expect(await q(`label=${encodeURIComponent('src=http://x.y/z=1')}`)).toEqual([j3.id]); // the value may hold ':' and '='
    expect(await q('linkId=req-1')).toEqual([j3.id, j1.id]);
    expect(await q('state=cancelled')).toEqual([j2.id]);
    expect(await q('state=ready&label=region=eu')).toEqual([j1.id]);
    expect(await q('type=email')).toEqual([j3.id]);
    expect(await q('type=resize&label=tier=silver')).toEqual([j2.id]);
    expect(ids((await c.list({ labels: { region: 'eu', tier: 'gold' } })).jobs)).toEqual([j1.id]);

    const bad = await call('GET', '/v1/jobs?label=region', { token });
    expectProblem(bad, 400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['/label']);
  });

  it('lets admins pick a tenant; others may only name their own (403 otherwise)', async () => {
    await start();
    const acme = await tokenFor('acme', ['submitter']);
    const globex = await tokenFor('globex', ['submitter']);
    const admin = await adminToken();
    const a = await client(acme).submit({ type: 'x' });
    const g = await client(globex).submit({ type: 'x' });

    expect(ids(await allJobs(admin, 'tenant=acme'))).toEqual([a.id]);
    expect(ids(await allJobs(admin, 'tenant=globex'))).toEqual([g.id]);
    expect(ids(await allJobs(admin)).sort()).toEqual([a.id, g.id].sort());
    expect(ids(await allJobs(acme))).toEqual([a.id]);
    expect(ids(await allJobs(acme, 'tenant=acme'))).toEqual([a.id]);

    const refused = await call('GET', '/v1/jobs?tenant=globex', { token: acme });
    expectProblem(refused, 403);
    expect(refused.body.detail).toContain('globex');
    // A viewer of one tenant cannot read the other either.
    expectProblem(await call('GET', '/v1/jobs?tenant=acme', { token: await tokenFor('globex', ['viewer']) }), 403);
  });

  it('pages with a cursor without duplicates or gaps while new jobs arrive', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const c = client(token);
    for (let i = 0; i < 10; i++) await c.submit({ type: 'p', payload: { i } });
    const snapshot = ids(await allJobs(token));
    expect(snapshot).toHaveLength(10);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await c.list({ limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...ids(page.jobs));
      cursor = page.nextCursor ?? undefined;
      pages++;
      // New jobs arrive between page reads.
      await c.submit({ type: 'p', payload: { late: pages } });
      await c.submitBulk([{ type: 'p' }, { type: 'p' }]);
    } while (cursor);

    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(snapshot);
    expect(await allJobs(token)).toHaveLength(10 + 3 * pages);
  });
});

// ---- 5. Readiness -------------------------------------------------------------------------------

describe('health and readiness', () => {
  it('is ready when the store answers, without a token', async () => {
    await start({}, (d) => ({ readiness: { store: () => d.store.ping() } }));
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { store: 'ok' }, leader: true });
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await new DocketClient({ baseUrl: base }).ready()).toEqual({ status: 'ready', checks: { store: 'ok' }, leader: true });
  });

  it('is 503 naming the engine that does not answer', async () => {
    await start({}, (d) => ({ readiness: { store: () => d.store.ping(), redis: () => Promise.reject(new Error('down')) } }));
    const r = await call('GET', '/readyz');
    expectProblem(r, 503);
    expect(r.body.checks).toEqual({ store: 'ok', redis: expect.stringContaining('down') });
    expect(r.body.detail).toContain('redis');
    expect(r.body.detail).not.toContain('store');
    await expect(new DocketClient({ baseUrl: base }).ready()).rejects.toMatchObject({ status: 503 });
    // Liveness does not depend on the engines.
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});

// ---- 6. Remote workers --------------------------------------------------------------------------

onBoth('remote workers', () => {
  it('a worker that stops heartbeating is lost and its job goes back to ready at once', async () => {
    await start({ leaseMs: 60_000, heartbeatTimeoutMs: 300, maintenanceIntervalMs: 50 });
    const worker = await tokenFor('default', ['worker']);
    const admin = await adminToken();
    const job = await client(admin).submit({ type: 'x', queue: 'work', maxAttempts: 3 });

    const reg = await call('POST', '/v1/workers', { token: worker, body: { queues: ['work'], name: 'w-silent' } });
    expect(reg.status).toBe(201);
    const workerId: string = reg.body.id;
    const [claimed] = await client(worker).claim('work', workerId, { max: 1 });
    expect(claimed).toMatchObject({ id: job.id, state: 'running', attempt: 1, workerId });

    // No heartbeat: the worker is lost (its heartbeats are 300 ms overdue, the lease has 60 s to go)...
    await until('the worker to be lost', async () => (await client(worker).workers()).find((w) => w.id === workerId && w.status === 'lost'));
    // ...and its job is back in the queue with the lost attempt counted, before its lease ran out.
    const back = await until('the job back in ready', async () => {
      const j = await client(admin).get(job.id);
      return j.state === 'ready' ? j : undefined;
    });
    expect(Date.parse(back.errors[0]!.at)).toBeLessThan(Date.parse(claimed!.leaseExpiresAt!));
    expect(back).toMatchObject({ state: 'ready', attempt: 1, stateReason: 'worker_lost', leaseExpiresAt: null });
    expect(back.errors).toEqual([{ code: 'worker_lost', attempt: 1, message: expect.stringContaining('w-silent'), at: expect.any(String) }]);

    // A late heartbeat learns the job is gone, and the worker is active again.
    const hb = await call('POST', `/v1/workers/${workerId}/heartbeat`, { token: worker, body: { jobs: [{ id: job.id, leaseToken: claimed!.leaseToken }] } });
    expect(hb.status, hb.text).toBe(200);
    expect(hb.body).toEqual({ lost: [job.id], cancelled: [] });
    expect((await client(worker).workers()).find((w) => w.id === workerId)?.status).toBe('active');
    // Its stale lease cannot finish the job; another claim takes it as attempt 2.
    expectProblem(await call('POST', `/v1/jobs/${job.id}/complete`, { token: worker, body: { leaseToken: claimed!.leaseToken } }), 409);
    const [again] = await client(worker).claim('work', 'w-other', { max: 1 });
    expect(again).toMatchObject({ id: job.id, attempt: 2 });
  });

  it('a heartbeat reports a job cancelled while held in both lost and cancelled', async () => {
    await start();
    const worker = await tokenFor('acme', ['worker']);
    const submitter = await tokenFor('acme', ['submitter']);
    const keep = await client(submitter).submit({ type: 'keep', queue: 'hb' });
    const drop = await client(submitter).submit({ type: 'drop', queue: 'hb' });

    const { id: workerId } = await client(worker).registerWorker({ queues: ['hb'] });
    const held = await client(worker).claim('hb', workerId, { max: 2 });
    expect(ids(held).sort()).toEqual([keep.id, drop.id].sort());
    const leases = held.map((j) => ({ id: j.id, leaseToken: j.leaseToken }));
    expect(await client(worker).heartbeat(workerId, leases)).toEqual({ lost: [], cancelled: [] });

    expect((await client(submitter).cancel(drop.id)).state).toBe('cancelled');
    const hb = await call('POST', `/v1/workers/${workerId}/heartbeat`, { token: worker, body: { jobs: leases } });
    expect(hb.status, hb.text).toBe(200);
    expect(hb.body).toEqual({ lost: [drop.id], cancelled: [drop.id] });
    expect((await client(submitter).get(keep.id)).state).toBe('running');
  });
});
