// The SDK's DocketClient and HttpTransport against a real server on both deployments: what a
// refused call throws (status, problem, what was wrong), filters and paging as sent, and the remote
// worker protocol's answers to a worker the server forgot or a job it no longer holds.
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../src/adapters/memory/memory-rate-limiter.js';
import type { Docket } from '../src/app/docket.js';
import { buildServer, type ServerOptions } from '../src/interfaces/http/server.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import { adminToken, tokenFor, testAuth } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The error a call rejected with, which must be a DocketApiError. */
async function refusal(call: Promise<unknown>): Promise<DocketApiError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DocketApiError);
  return err as DocketApiError;
}

/** A plain HTTP server answering every request with `status`, `body` and `headers`, as a proxy in front of Docket might. */
async function proxyAnswering(status: number, body: string, headers: Record<string, string> = {}): Promise<string> {
  const server: Server = createServer((_req, res) => res.writeHead(status, headers).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

describe('DocketClient in front of something that is not Docket', () => {
  it('keeps the start of a text error page as the detail', async () => {
    const client = new DocketClient({ baseUrl: await proxyAnswering(502, '  <html>Bad gateway</html>\n') });
    const err = await refusal(client.get('j1'));
    expect(err.status).toBe(502);
    expect(err.message).toBe('<html>Bad gateway</html>');
    expect(err.problem).toEqual({ type: 'about:blank', title: 'HTTP 502', status: 502, detail: '<html>Bad gateway</html>', instance: '' });
    expect(err.retryAfter).toBeUndefined();
  });

  it('an empty error reply is "HTTP <status>" with no problem; a Retry-After is kept', async () => {
    const client = new DocketClient({ baseUrl: await proxyAnswering(503, '', { 'retry-after': '7' }) });
    const err = await refusal(client.health());
    expect(err).toMatchObject({ status: 503, message: 'HTTP 503', problem: undefined, retryAfter: 7 });
  });

  it('a JSON error without a detail is shown as its text', async () => {
    const client = new DocketClient({ baseUrl: await proxyAnswering(500, '{"error":"boom"}') });
    const err = await refusal(client.queues());
    expect(err.message).toBe('{"error":"boom"}');
  });

  it('an empty 200 reply is undefined, not a JSON error', async () => {
    const client = new DocketClient({ baseUrl: await proxyAnswering(200, '') });
    expect(await client.get('j1')).toBeUndefined();
  });

  it('sends its token, tenant and extra headers, to a base URL given with trailing slashes', async () => {
    let seen: { url?: string; headers?: Record<string, string | string[] | undefined> } = {};
    const server = createServer((req, res) => {
      seen = { url: req.url!, headers: req.headers };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as { port: number };
    const client = new DocketClient({ baseUrl: `http://127.0.0.1:${port}//`, token: 'tok', tenant: 'acme', headers: { 'x-trace': '1' } });
    expect(await client.health()).toEqual({ status: 'ok' });
    expect(seen.url).toBe('/healthz');
    expect(seen.headers).toMatchObject({ authorization: 'Bearer tok', 'docket-tenant': 'acme', 'x-trace': '1' });
    expect(seen.headers).not.toHaveProperty('content-type');
  });
});

for (const { name, open } of deployments((c) => cleanups.push(c))) {
  describe(`SDK client and HTTP transport: ${name}`, () => {
    let base: string;
    let token: string;

    async function start(extra: (d: Docket) => Partial<ServerOptions> = () => ({})): Promise<{ docket: Docket; client: DocketClient; transport: HttpTransport }> {
      const docket = await open();
      cleanups.push(() => docket.stop());
      const app: FastifyInstance = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), ui: false, ...extra(docket) });
      cleanups.push(() => app.close());
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      token = await adminToken();
      return { docket, client: new DocketClient({ baseUrl: base, token }), transport: new HttpTransport({ baseUrl: base, token }) };
    }

    it('a refused submit is a DocketApiError whose problem names the bad field', async () => {
      const { client } = await start();
      const err = await refusal(client.submit({ type: 'email', payload: {}, priority: 99 } as never));
      expect(err.status).toBe(400);
      expect(err.problem?.type).toBe('urn:docket:problem:invalid-input');
      expect(err.message).toMatch(/priority/);
    });

    it('a missing job is a 404 naming it; a call without a token is a 401', async () => {
      const { client } = await start();
      const missing = await refusal(client.get('no-such-job'));
      expect(missing).toMatchObject({ status: 404, name: 'DocketApiError' });
      expect(missing.problem?.type).toBe('urn:docket:problem:not-found');
      expect(missing.message).toMatch(/no-such-job/);
      const anonymous = await refusal(new DocketClient({ baseUrl: base }).get('no-such-job'));
      expect(anonymous.status).toBe(401);
    });

    it('a rate-limited call carries the seconds to wait from Retry-After', async () => {
      const { client } = await start((d) => ({ rateLimits: { limiter: new MemoryRateLimiter(), clock: d.clock, token: { perSecond: 0.001, burst: 1 } } }));
      await client.queues();
      const err = await refusal(client.queues());
      expect(err.status).toBe(429);
      expect(err.retryAfter).toBeGreaterThan(0);
    });

    it('lists by labels and creation dates, and listAll walks every page', async () => {
      const { client } = await start();
      const before = new Date(Date.now() - 60_000);
      const eu = await client.submitBulk([
        { type: 't', payload: { n: 1 }, labels: { region: 'eu', tier: 'gold' } },
        { type: 't', payload: { n: 2 }, labels: { region: 'eu', tier: 'gold' } },
        { type: 't', payload: { n: 3 }, labels: { region: 'eu', tier: 'gold' } },
      ]);
      await client.submit({ type: 't', payload: { n: 4 }, labels: { region: 'us', tier: 'gold' } });
      const page = await client.list({ labels: { region: 'eu', tier: 'gold' }, createdAfter: before, createdBefore: new Date(Date.now() + 60_000).toISOString(), limit: 2, state: undefined });
      expect(page.jobs).toHaveLength(2);
      expect(page.nextCursor).not.toBeNull();
      const all: string[] = [];
      for await (const job of client.listAll({ labels: { region: 'eu' }, limit: 1 })) all.push(job.id);
      expect(all.sort()).toEqual(eu.map((j) => j.id).sort());
      expect((await client.list({ createdAfter: new Date(Date.now() + 60_000) })).jobs).toEqual([]);
    });

    it('requeues and purges dead letters matched by a filter with dates', async () => {
      const { client, transport } = await start();
      const workerId = await transport.register({ queues: ['dl'], capacity: 1 });
      const job = await client.submit({ type: 'doomed', queue: 'dl', payload: {}, maxAttempts: 1 });
      const [claimed] = await transport.claim({ workerId, queues: ['dl'], max: 1, waitMs: 0 });
      const failed = await transport.fail(claimed!, { message: 'no route to host', code: 'ehostunreach', name: 'NetError', retryable: false });
      expect(failed).toMatchObject({ ok: true, job: { id: job.id, state: 'failed' } });
      const dead = await client.deadLetters({ queue: 'dl', failedAfter: new Date(Date.now() - 60_000), tenant: undefined });
      expect(dead.jobs.map((j) => j.id)).toEqual([job.id]);
      expect(dead.jobs[0]!.errors.at(-1)).toMatchObject({ message: 'no route to host', code: 'ehostunreach' });
      expect(await client.requeueDeadLetters({ filter: { queue: 'dl', failedBefore: new Date(Date.now() + 60_000), type: undefined }, max: 10 })).toEqual({ requeued: 1, ids: [job.id] });
      expect((await client.get(job.id)).state).toBe('ready');
      expect(await client.purgeDeadLetters({ ids: [job.id] })).toEqual({ purged: 0 });
    });

    it('workers() reads every page of the worker list', async () => {
      const { client } = await start();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await client.registerWorker({ queues: ['q'], capacity: 1, name: `w${i}` })).id);
      const page = await client.workersPage({ limit: 2 });
      expect(page.workers).toHaveLength(2);
      expect((await client.workers()).map((w) => w.id).sort()).toEqual(ids.sort());
      expect(await client.unregisterWorker(ids[0]!)).toBeUndefined();
    });

    it('the event stream and a log stream throw a DocketApiError when refused, and end quietly when aborted first', async () => {
      const { client } = await start((d) => ({ events: { log: d.store.events, source: d.relay.source, onPositioned: (l) => d.relay.onPositioned(l) } }));
      const anonymous = new DocketClient({ baseUrl: base });
      await expect(anonymous.streamEvents().next()).rejects.toMatchObject({ status: 401 });
      await expect(client.followLogs('no-such-job').next()).rejects.toMatchObject({ status: 404 });
      const aborted = AbortSignal.abort();
      expect(await client.streamEvents({ signal: aborted }).next()).toEqual({ done: true, value: undefined });
      expect(await client.followLogs('no-such-job', { signal: aborted }).next()).toEqual({ done: true, value: undefined });
    });

    it('HttpTransport registers again when the server forgot its worker, and the heartbeat goes through under the new id', async () => {
      const { client, transport } = await start();
      const first = await transport.register({ queues: ['q'], capacity: 1, name: 'remote' });
      await client.unregisterWorker(first);
      const reply = await transport.heartbeat(first, []);
      expect(reply.lost).toEqual([]);
      const now = await client.workers();
      expect(now).toHaveLength(1);
      expect(now[0]).toMatchObject({ name: 'remote' });
      expect(now[0]!.id).not.toBe(first);
      // Unregistering under the first id reaches the new one.
      await transport.unregister(first);
      expect(await client.workers()).toEqual([]);
      // A worker the server does not know is gone already: not an error.
      await expect(transport.unregister(first)).resolves.toBeUndefined();
    });

    it('HttpTransport: a heartbeat of a worker never registered here, or a refusal other than 404, is an error', async () => {
      await start();
      await expect(new HttpTransport({ baseUrl: base, token }).heartbeat('never-registered', [])).rejects.toMatchObject({ status: 404 });
      const outsider = new HttpTransport({ baseUrl: base, token: await tokenFor('default', ['submitter']) });
      await expect(outsider.unregister('w1')).rejects.toMatchObject({ status: 403 });
    });

    it('HttpTransport: reports on a job gone or no longer held are answers with a reason, not errors', async () => {
      const { client, transport } = await start();
      const workerId = await transport.register({ queues: ['r'], capacity: 1 });
      await client.submit({ type: 'x', queue: 'r', payload: {} });
      const [job] = await transport.claim({ workerId, queues: ['r'], max: 5000, waitMs: 600_000 });
      expect(job).toBeDefined();
      const stale = { ...job!, leaseToken: 'not-the-lease' };
      expect(await transport.progress(stale, 10)).toMatchObject({ ok: false, reason: 'lease_mismatch' });
      expect(await transport.stepProgress(stale, 10, 'step 1 of 2')).toEqual({ ok: false, reason: 'lease_mismatch', outputs: [] });
      const gone = { ...job!, id: 'no-such-job' };
      expect(await transport.release(gone)).toEqual({ ok: false, reason: 'not_found' });
      expect(await transport.stepProgress(gone, 10, 'step 1 of 2')).toEqual({ ok: false, reason: 'not_found', outputs: [] });
      expect(await transport.stepProgress(job!, 50, 'step 1 of 2', [{ a: 1 }])).toEqual({ ok: true, outputs: [{ a: 1 }] });
      expect(await transport.progress(job!, 60, 'halfway')).toEqual({ ok: true });
      expect(await client.progress(job!.id)).toEqual({ state: 'running', progress: { percent: 60, message: 'halfway' } });
      expect(await transport.release(job!)).toEqual({ ok: true });
      // A refusal that is not about the job (here: not allowed) is thrown.
      const outsider = new HttpTransport({ baseUrl: base, token: await tokenFor('default', ['submitter']) });
      await expect(outsider.complete(job!, 1)).rejects.toMatchObject({ status: 403 });
      await expect(outsider.stepProgress(job!, 1, 'm')).rejects.toMatchObject({ status: 403 });
    });

    it('HttpTransport reads a job\'s dependencies with their results and errors, times as epoch ms', async () => {
      const { client, transport } = await start();
      const workerId = await transport.register({ queues: ['d'], capacity: 2 });
      const ok = await client.submit({ type: 'a', queue: 'd', payload: {} });
      const bad = await client.submit({ type: 'b', queue: 'd', payload: {}, maxAttempts: 1 });
      const after = await client.submit({ type: 'c', queue: 'd', payload: {}, dependsOn: [ok.id, bad.id], onDependencyFailure: 'continue' });
      const first = await transport.claim({ workerId, queues: ['d'], max: 2, waitMs: 0 });
      for (const j of first) {
        if (j.id === ok.id) await transport.complete(j, { done: 1 });
        else await transport.fail(j, { message: 'broken', retryable: false });
      }
      const deps = await transport.dependencies({ ...(await client.get(after.id)), leaseToken: '' } as never);
      const byId = Object.fromEntries(deps.map((d) => [d.id, d]));
      expect(byId[ok.id]).toMatchObject({ state: 'succeeded', result: { done: 1 }, error: null });
      expect(typeof byId[ok.id]!.finishedAt).toBe('number');
      expect(byId[bad.id]).toMatchObject({ state: 'failed', error: { message: 'broken' } });
      expect(typeof byId[bad.id]!.error!.at).toBe('number');
    });
  });
}
