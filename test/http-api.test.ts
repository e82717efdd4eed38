import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { JobViewSchema } from '../src/interfaces/http/schemas.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { adminToken, testAuth } from './helpers/auth.js';

let docket: Docket | undefined;
let app: FastifyInstance | undefined;
let client: DocketClient;
let base: string;
let token: string;

async function start(opts: { maxPayloadBytes?: number; bodyLimit?: number } = {}) {
  docket = await openEmbedded({ path: ':memory:', ...(opts.maxPayloadBytes ? { maxPayloadBytes: opts.maxPayloadBytes } : {}) });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), ...(opts.bodyLimit ? { bodyLimit: opts.bodyLimit } : {}) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = await adminToken();
  client = new DocketClient({ baseUrl: base, token });
}

afterEach(async () => {
  await app?.close();
  await docket?.stop();
  app = undefined;
  docket = undefined;
});

/** A raw request, for what the typed client will not send. */
async function raw(method: string, path: string, body?: string, contentType = 'application/json') {
  const auth = { authorization: `Bearer ${token}` };
  const res = await fetch(`${base}${path}`, { method, headers: body !== undefined ? { ...auth, 'content-type': contentType } : auth, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : undefined };
}

const post = (path: string, value: unknown) => raw('POST', path, JSON.stringify(value));
const viewCheck = TypeCompiler.Compile(JobViewSchema);

/** Expects a problem+json reply with this status naming these field paths. */
function expectProblem(r: Awaited<ReturnType<typeof raw>>, status: number, paths: string[] = []) {
  expect(r.status).toBe(status);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status, type: expect.stringMatching(/^urn:docket:problem:/), title: expect.any(String), detail: expect.any(String), instance: expect.stringMatching(/^\//) });
  expect((r.body.errors ?? []).map((e: { path: string }) => e.path).sort()).toEqual(paths);
}

describe('HTTP API: jobs', () => {
  it('answers health checks', async () => {
    await start();
    expect(await client.health()).toEqual({ status: 'ok' });
  });

  it('submits a job (201) and reads it back as a view with ISO times and no lease token', async () => {
    await start();
    const r = await post('/v1/jobs', { type: 'email', payload: { to: 'a@b.c' }, priority: 2, labels: { team: 'x' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ type: 'email', state: 'ready', priority: 2, tenant: 'default', queue: 'default', payload: { to: 'a@b.c' } });
    expect(r.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(viewCheck.Check(r.body)).toBe(true);
    expect(r.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(r.body.startedAt).toBeNull();
    expect(r.body).not.toHaveProperty('leaseToken');
    expect(r.body).not.toHaveProperty('result');

    const got = await client.get(r.body.id);
    expect(got).toEqual(r.body);
    expect(await client.submit({ type: 'later', delayMs: 60_000 })).toMatchObject({ state: 'scheduled' });
  });

  it('submits in bulk, all or none', async () => {
    await start();
    const jobs = await client.submitBulk([{ type: 'a' }, { type: 'b', queue: 'q2' }, { type: 'c' }]);
    expect(jobs.map((j) => j.type)).toEqual(['a', 'b', 'c']);
    const bad = await post('/v1/jobs/bulk', { jobs: [{ type: 'a' }, { type: 'b' }, { type: 'c', timeoutMs: -5 }, { type: 'd', priority: 0 }] });
    expectProblem(bad, 400, ['/jobs/2/timeoutMs', '/jobs/3/priority']);
    // Rules the service checks (not the schema) are named under /jobs/<i> too.
    const late = await post('/v1/jobs/bulk', { jobs: [{ type: 'a' }, { type: 'b', runAt: '2030-01-01T00:00:00Z', delayMs: 5 }] });
    expectProblem(late, 400, ['/jobs/1/delayMs']);
    const one = await post('/v1/jobs/bulk', { jobs: [{ type: 'b', runAt: '2030-01-01T00:00:00Z', delayMs: 5 }] });
    expectProblem(one, 400, ['/jobs/0/delayMs']);
    expectProblem(await post('/v1/jobs/bulk', { jobs: [] }), 400, ['/jobs']);
    expect((await client.list()).jobs).toHaveLength(3);
  });

  it('returns 404 problems for unknown ids and routes', async () => {
    await start();
    expectProblem(await raw('GET', '/v1/jobs/0190b0b0-0000-7000-8000-000000000000'), 404);
    expectProblem(await raw('POST', '/v1/jobs/nope/cancel'), 404);
    expectProblem(await raw('GET', '/v1/jobs/nope/progress'), 404);
    expectProblem(await raw('GET', '/v1/nothing-here'), 404);
    const err = await client.get('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocketApiError);
    expect((err as DocketApiError).status).toBe(404);
    expect((err as DocketApiError).message).toBe('job nope not found');
  });

  it('cancels a job (200), then refuses a second cancel (409)', async () => {
    await start();
    const job = await client.submit({ type: 'x' });
    const cancelled = await client.cancel(job.id);
    expect(cancelled).toMatchObject({ id: job.id, state: 'cancelled', stateReason: 'cancelled_by_user' });
    expect(cancelled.finishedAt).not.toBeNull();
    // A body-less POST that still says application/json is fine.
    const again = await raw('POST', `/v1/jobs/${job.id}/cancel`, '');
    expectProblem(again, 409);
    expect(again.body.detail).toContain('cancelled');
    expect(await raw('GET', `/v1/jobs/${job.id}/progress`)).toMatchObject({ status: 200, body: { state: 'cancelled', progress: null } });
  });

  it('lists with filters', async () => {
    await start();
    const a = await client.submit({ type: 'resize', queue: 'images', linkId: 'req-1' });
    await client.submit({ type: 'resize', queue: 'images' });
    const c = await client.submit({ type: 'email', queue: 'mail', linkId: 'req-1' });
    await client.cancel(c.id);
    const ids = async (filter: Parameters<DocketClient['list']>[0]) => (await client.list(filter)).jobs.map((j) => j.id);
    expect(await ids({ queue: 'images' })).toHaveLength(2);
    expect(await ids({ type: 'email' })).toEqual([c.id]);
    expect(await ids({ state: 'cancelled' })).toEqual([c.id]);
    expect(await ids({ linkId: 'req-1' })).toEqual([c.id, a.id]);
    expect(await ids({ queue: 'images', state: 'cancelled' })).toEqual([]);
    expect(await ids({ createdAfter: new Date(Date.now() - 60_000) })).toHaveLength(3);
    expect(await ids({ createdBefore: '2001-01-01T00:00:00Z' })).toEqual([]);
    expectProblem(await raw('GET', '/v1/jobs?state=bogus'), 400, ['/state']);
    expectProblem(await raw('GET', '/v1/jobs?limit=0'), 400, ['/limit']);
    expectProblem(await raw('GET', '/v1/jobs?limit=501'), 400, ['/limit']);
    expectProblem(await raw('GET', '/v1/jobs?createdAfter=yesterday'), 400, ['/createdAfter']);
    expectProblem(await raw('GET', '/v1/jobs?colour=red'), 400, ['/colour']);
  });

  it('paginates with a cursor: pages do not overlap and stay stable when jobs are added', async () => {
    await start();
    const made = await client.submitBulk(Array.from({ length: 7 }, (_, i) => ({ type: 'p', payload: { i } })));
    const newestFirst = made.map((j) => j.id).reverse();

    const p1 = await client.list({ limit: 3 });
    expect(p1.jobs.map((j) => j.id)).toEqual(newestFirst.slice(0, 3));
    expect(p1.nextCursor).not.toBeNull();
    // Jobs inserted between page reads are newer than the cursor: they do not shift later pages.
    await client.submitBulk([{ type: 'p' }, { type: 'p' }]);
    const p2 = await client.list({ limit: 3, cursor: p1.nextCursor! });
    const p3 = await client.list({ limit: 3, cursor: p2.nextCursor! });
    expect(p2.jobs.map((j) => j.id)).toEqual(newestFirst.slice(3, 6));
    expect(p3.jobs.map((j) => j.id)).toEqual(newestFirst.slice(6));
    expect(p3.nextCursor).toBeNull();
    expect((await client.list({ limit: 500 })).jobs).toHaveLength(9);
  });
});

describe('HTTP API: bad input gets a 4xx naming the field', () => {
  it.each([
    ['priority 0', { type: 'x', priority: 0 }, '/priority'],
    ['priority 11', { type: 'x', priority: 11 }, '/priority'],
    ['a fractional priority', { type: 'x', priority: 2.5 }, '/priority'],
    ['a string priority', { type: 'x', priority: '5' }, '/priority'],
    ['a negative timeoutMs', { type: 'x', timeoutMs: -1 }, '/timeoutMs'],
    ['an unknown field', { type: 'x', colour: 'red' }, '/colour'],
    ['a missing type', { payload: {} }, '/type'],
    ['a bad type name', { type: 'has space' }, '/type'],
    ['a bad date', { type: 'x', runAt: 'tomorrow' }, '/runAt'],
    ['a bad label key', { type: 'x', labels: { 'has space': 'v' } }, '/labels/has space'],
    ['a bad backoff', { type: 'x', backoff: { type: 'fixed', delayMs: -1 } }, '/backoff/delayMs'],
    ['an unknown backoff field', { type: 'x', backoff: { type: 'fixed', delayMs: 1, extra: 1 } }, '/backoff/extra'],
  ])('%s -> 400', async (_name, body, path) => {
    await start();
    const r = await post('/v1/jobs', body);
    expectProblem(r, 400, [path]);
    if (path === '/colour') expect(r.body.errors[0].message).toBe('unknown field');
    expect((await client.list()).jobs).toHaveLength(0);
  });

  it('names every bad field at once', async () => {
    await start();
    expectProblem(await post('/v1/jobs', { type: 'x', priority: 0, timeoutMs: -1, colour: 1 }), 400, ['/colour', '/priority', '/timeoutMs']);
  });

  it('accepts a payload of exactly the configured limit and rejects one byte more with 413', async () => {
    await start({ maxPayloadBytes: 100 });
    // {"blob":"…"} is 11 bytes of JSON around the text.
    const sized = (bytes: number) => ({ type: 'x', payload: { blob: 'y'.repeat(bytes - 11) } });
    expect(Buffer.byteLength(JSON.stringify(sized(100).payload))).toBe(100);
    expect((await post('/v1/jobs', sized(100))).status).toBe(201);
    expectProblem(await post('/v1/jobs', sized(101)), 413, ['/payload']);
    expect((await client.list()).jobs).toHaveLength(1);
  });

  it('rejects a payload over the configured limit with 413', async () => {
    await start({ maxPayloadBytes: 100 });
    const big = { type: 'x', payload: { blob: 'y'.repeat(200) } };
    expectProblem(await post('/v1/jobs', big), 413, ['/payload']);
    expectProblem(await post('/v1/jobs/bulk', { jobs: [{ type: 'ok' }, big] }), 413, ['/jobs/1/payload']);
    expect((await client.list()).jobs).toHaveLength(0);
    await expect(client.submit(big)).rejects.toMatchObject({ status: 413 });
  });

  it('rejects malformed JSON, other media types and oversized bodies', async () => {
    await start({ bodyLimit: 1000 });
    expectProblem(await raw('POST', '/v1/jobs', '{"type": "x",'), 400);
    expectProblem(await raw('POST', '/v1/jobs', ''), 400, ['']); // no body at all
    expectProblem(await raw('POST', '/v1/jobs', 'type=x', 'text/plain'), 415);
    expectProblem(await raw('POST', '/v1/jobs', 'type=x', 'application/x-www-form-urlencoded'), 415);
    expectProblem(await raw('POST', '/v1/jobs', JSON.stringify({ type: 'x', payload: 'z'.repeat(2000) })), 413);
    // The body limit from both sides: a body of exactly 1,000 bytes is read, 1,001 is not ({"type":"x","payload":""} is 25 bytes).
    const body = (bytes: number) => JSON.stringify({ type: 'x', payload: 'z'.repeat(bytes - 25) });
    expect(Buffer.byteLength(body(1000))).toBe(1000);
    expect((await raw('POST', '/v1/jobs', body(1000))).status).toBe(201);
    expectProblem(await raw('POST', '/v1/jobs', body(1001)), 413);
    expectProblem(await raw('POST', '/v1/jobs', '[1, 2]'), 400, ['']);
    expectProblem(await raw('POST', '/v1/jobs', 'null'), 400, ['']);
    const ok = await raw('POST', '/v1/jobs', JSON.stringify({ type: 'x' }), 'application/json; charset=utf-8');
    expect(ok.status).toBe(201);
  });
});

describe('HTTP API: workers', () => {
  it('registers, lists and unregisters workers', async () => {
    await start();
    const r = await post('/v1/workers', { queues: ['a', 'b'], capacity: 4, name: 'w1', labels: { zone: 'eu' } });
    expect(r.status).toBe(201);
    const list = await raw('GET', '/v1/workers');
    expect(list.body.workers).toEqual([
      {
        id: r.body.id,
        name: 'w1',
        queues: ['a', 'b'],
        capacity: 4,
        labels: { zone: 'eu' },
        // Registered by an admin not acting for a tenant: a worker of every tenant.
        tenant: null,
        status: 'active',
        registeredAt: expect.stringMatching(/Z$/),
        lastHeartbeatAt: expect.stringMatching(/Z$/),
      },
    ]);
    expectProblem(await post('/v1/workers', { queues: [] }), 400, ['/queues']);
    expectProblem(await post('/v1/workers', { queues: ['a'], capacity: 0 }), 400, ['/capacity']);
    expectProblem(await post('/v1/workers/nope/heartbeat', { jobs: [] }), 404);
    expect((await raw('DELETE', `/v1/workers/${r.body.id}`)).status).toBe(204);
    expectProblem(await raw('DELETE', `/v1/workers/${r.body.id}`), 404);
    expect((await raw('GET', '/v1/workers')).body.workers).toEqual([]);
  });

  it('lists workers a page at a time, filtered; bad filters are 400s that name them', async () => {
    await start();
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await post('/v1/workers', { queues: [i < 3 ? 'mail' : 'pdf'] })).body.id);
    const first = await raw('GET', '/v1/workers?limit=3');
    expect(first.body.workers.map((w: { id: string }) => w.id)).toEqual([...made].sort().slice(0, 3));
    const rest = await raw('GET', `/v1/workers?limit=10&cursor=${first.body.nextCursor}`);
    expect(rest.body.workers.map((w: { id: string }) => w.id)).toEqual([...made].sort().slice(3));
    expect(rest.body.nextCursor).toBeNull();
    const mail = await raw('GET', '/v1/workers?queue=mail&status=active');
    expect(mail.body.workers.map((w: { id: string }) => w.id).sort()).toEqual(made.slice(0, 3).sort());
    expectProblem(await raw('GET', '/v1/workers?limit=0'), 400, ['/limit']);
    expectProblem(await raw('GET', '/v1/workers?status=sleeping'), 400, ['/status']);
  });
});
