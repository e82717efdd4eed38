// Worker tokens act only for their tenant (issue 19 finding 6): claims hand out only that tenant's
// jobs; another tenant's worker, job or lease answers 404 however the request names it; and a
// fleet shared by every tenant needs the explicit cluster-worker role. Over real HTTP, on both
// deployments (embedded; PostgreSQL + Redis): the tenant filter of a claim and of its long-poll's
// wake-ups is the dispatch's, the workers' owners are the worker directory's.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Role } from '../src/auth/roles.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';
import { within } from './helpers/process.js';

// Read as plain JSON, as a client does.
type Json = any;

let docket: Docket;
let app: FastifyInstance;
let base: string;
const tokens: Record<string, string> = {};

/** What the engines' loops reported as trouble: each deployment's tests end with none. */
const troubles: unknown[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const as: [string, string, Role][] = [
    ['acme', 'acme', 'worker'],
    ['globex', 'globex', 'worker'],
    ['fleet', 'ops', 'cluster-worker'],
    ['admin', 'ops', 'admin'],
  ];
  for (const [name, tenant, role] of as) tokens[name] = await tokenFor(tenant, [role]);
});

/** Serves an engine from `open` to the enclosing describe's tests; closes both after them, then drops what the deployment held. */
function serving(open: () => Promise<Docket>): void {
  beforeAll(async () => {
    docket = await open();
    app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await docket?.close();
    for (const c of cleanups.splice(0).reverse()) await c();
    expect(troubles.splice(0)).toEqual([]);
  });
}

async function call(who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body: text ? (JSON.parse(text) as Json) : undefined };
}

let queues = 0;
/** `n` jobs of each tenant in a fresh queue, interleaved. */
async function jobsIn(tenants: string[], n: number): Promise<{ queue: string; ids: Record<string, string[]> }> {
  const queue = `q${++queues}`;
  const ids: Record<string, string[]> = {};
  for (let i = 0; i < n; i++) {
    for (const tenant of tenants) {
      const [job] = await docket.jobs.submitter.submit([{ type: 't', queue, payload: { secret: `${tenant}-${i}` } }], { tenant });
      (ids[tenant] ??= []).push(job!.id);
    }
  }
  return { queue, ids };
}

async function register(who: string, queue: string): Promise<string> {
  const r = await call(who, 'POST', '/v1/workers', { queues: [queue] });
  expect(r.status).toBe(201);
  return r.body.id;
}

const claim = async (who: string, queue: string, workerId: string, max = 100) => call(who, 'POST', `/v1/queues/${queue}/claim`, { workerId, max });

describe.each(deployments((c) => cleanups.push(c), { onError: (e) => troubles.push(e) }))('worker tokens and tenants, $name', (deployment) => {
  serving(() => deployment.open());

  describe('claims', () => {
    it('a worker token claims only its tenant\'s jobs, however many others wait first', async () => {
      const { queue, ids } = await jobsIn(['acme', 'globex'], 5);
      const got = await claim('globex', queue, await register('globex', queue));
      expect(got.status).toBe(200);
      expect(got.body.jobs.map((j: Json) => j.id).sort()).toEqual([...ids.globex!].sort());
      expect(new Set(got.body.jobs.map((j: Json) => j.tenant))).toEqual(new Set(['globex']));
      // Nothing of globex's is left: its next claim is empty, while acme's jobs still wait for acme.
      expect((await claim('globex', queue, 'w-g')).body.jobs).toEqual([]);
      expect((await claim('acme', queue, await register('acme', queue))).body.jobs.map((j: Json) => j.id).sort()).toEqual([...ids.acme!].sort());
    });

    it('a long-poll for one tenant is not woken into an empty answer by another tenant\'s job', async () => {
      const queue = `q${++queues}`;
      const workerId = await register('acme', queue);
      const waits = vi.spyOn(docket.dispatch, 'waitForWork');
      // The longest wait there is: an answer within the 10 s bound below is the wake-up's, not the wait running out.
      const waiting = call('acme', 'POST', `/v1/queues/${queue}/claim`, { workerId, max: 1, waitMs: 60_000 });
      await vi.waitFor(() => expect(waits, 'the claim waiting for work').toHaveBeenCalled(), { timeout: 10_000 });
      waits.mockRestore();
      await docket.jobs.submitter.submit([{ type: 't', queue }], { tenant: 'globex' });
      const [mine] = await docket.jobs.submitter.submit([{ type: 't', queue }], { tenant: 'acme' });
      const got = await within("acme's long-poll to return after acme's submit", waiting);
      expect(got.status).toBe(200);
      expect(got.body.jobs.map((j: Json) => j.id)).toEqual([mine!.id]);
    });

    it('a cluster-worker token claims every tenant\'s jobs', async () => {
      const { queue, ids } = await jobsIn(['acme', 'globex'], 3);
      const got = await claim('fleet', queue, await register('fleet', queue));
      expect(got.body.jobs.map((j: Json) => j.id).sort()).toEqual([...ids.acme!, ...ids.globex!].sort());
    });

    it('a claim under another tenant\'s registered worker id is 404', async () => {
      const { queue } = await jobsIn(['globex'], 1);
      const acmeWorker = await register('acme', queue);
      const r = await claim('globex', queue, acmeWorker);
      expect(r.status).toBe(404);
      expect(r.type).toContain('application/problem+json');
      expect(r.body.detail).toBe(`worker ${acmeWorker} not found`);
    });
  });

  describe('another tenant\'s worker answers 404', () => {
    it('delete, heartbeat and the list', async () => {
      const queue = `q${++queues}`;
      const acmeWorker = await register('acme', queue);
      const globexWorker = await register('globex', queue);
      for (const [method, path, body] of [
        ['DELETE', `/v1/workers/${acmeWorker}`, undefined],
        ['POST', `/v1/workers/${acmeWorker}/heartbeat`, { jobs: [] }],
      ] as const) {
        const r = await call('globex', method, path, body);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.type).toContain('application/problem+json');
      }
      const listed = (who: string) => call(who, 'GET', '/v1/workers').then((r) => r.body.workers.map((w: Json) => w.id));
      expect(await listed('globex')).toContain(globexWorker);
      expect(await listed('globex')).not.toContain(acmeWorker);
      expect(await listed('fleet')).toEqual(expect.arrayContaining([acmeWorker, globexWorker]));
      // The owner still has its worker, and may remove it.
      expect((await call('acme', 'POST', `/v1/workers/${acmeWorker}/heartbeat`, { jobs: [] })).status).toBe(200);
      expect((await call('acme', 'DELETE', `/v1/workers/${acmeWorker}`)).status).toBe(204);
    });
  });

  describe('another tenant\'s lease answers 404, even with its lease token', () => {
    it('complete, fail, progress and release do nothing to the job and show none of it', async () => {
      const { queue, ids } = await jobsIn(['acme'], 1);
      const [job] = (await claim('acme', queue, await register('acme', queue))).body.jobs;
      expect(job.id).toBe(ids.acme![0]);
      const leaseToken = job.leaseToken;
      const bodies: Record<string, unknown> = {
        complete: { leaseToken, result: { stolen: true } },
        fail: { leaseToken, error: { message: 'x' } },
        progress: { leaseToken, percent: 50 },
        release: { leaseToken },
      };
      for (const [action, body] of Object.entries(bodies)) {
        const r = await call('globex', 'POST', `/v1/jobs/${job.id}/${action}`, body);
        expect(r.status, action).toBe(404);
        expect(r.type).toContain('application/problem+json');
        expect(r.body.detail).toBe(`job ${job.id} not found`);
        expect(r.text).not.toContain('acme-0'); // the payload
      }
      // A heartbeat of globex's own worker naming acme's job: reported lost, its lease not extended.
      const before = (await docket.jobs.queries.get(job.id))!;
      const hb = await call('globex', 'POST', `/v1/workers/${await register('globex', queue)}/heartbeat`, { jobs: [{ id: job.id, leaseToken }] });
      expect(hb.body).toEqual({ lost: [job.id], cancelled: [] });
      const after = (await docket.jobs.queries.get(job.id))!;
      expect(after).toMatchObject({ state: 'running', leaseToken, leaseExpiresAt: before.leaseExpiresAt, progress: null });
      // The job routes as well.
      expect((await call('globex', 'GET', `/v1/jobs/${job.id}`)).status).toBe(404);
      // Its own tenant's worker completes it.
      const done = await call('acme', 'POST', `/v1/jobs/${job.id}/complete`, { leaseToken });
      expect(done.status).toBe(200);
      expect(done.body.state).toBe('succeeded');
    });

    it('a cluster worker acts on any tenant\'s lease it holds', async () => {
      const { queue } = await jobsIn(['acme'], 1);
      const [job] = (await claim('fleet', queue, await register('fleet', queue))).body.jobs;
      expect((await call('fleet', 'POST', `/v1/jobs/${job.id}/progress`, { leaseToken: job.leaseToken, percent: 10 })).status).toBe(200);
      expect((await docket.jobs.queries.get(job.id))!.progress).toEqual({ percent: 10 });
      expect((await call('fleet', 'POST', `/v1/jobs/${job.id}/complete`, { leaseToken: job.leaseToken, result: 'done' })).body.state).toBe('succeeded');
      expect(await docket.jobs.queries.get(job.id)).toMatchObject({ tenant: 'acme', state: 'succeeded', result: 'done' });
    });
  });
});

// Which routes a role may call is decided before the engine is reached: one deployment is enough.
describe('a cluster worker token', () => {
  serving(() => openEmbedded({ path: ':memory:', onError: (e) => troubles.push(e) }));

  it('may do nothing but the worker protocol', async () => {
    expect((await call('fleet', 'POST', '/v1/jobs', { type: 't' })).status).toBe(403);
    expect((await call('fleet', 'GET', '/v1/jobs')).status).toBe(403);
    expect((await call('fleet', 'GET', '/v1/queues')).status).toBe(403);
  });
});
