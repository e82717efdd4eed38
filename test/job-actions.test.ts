// Operators' actions on jobs (issue 23): find jobs by a payload field, retry a failed job in place,
// and cancel, retry or delete many at once (selected, or all matching a filter) with a dry run
// that says how many. On both stores: the payload filter is SQL of each engine.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DEPLOYMENTS = deployments((c) => cleanups.push(c));

async function serve(docket: Docket) {
  const app: FastifyInstance = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await app.close();
    await docket.stop();
  });
  return async (tenant: string, role: 'admin' | 'submitter' | 'viewer' | 'worker') => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, [role]) });
}

/** A failed job of `tenant`: claimed and failed for good. */
async function failed(worker: DocketClient, submitter: DocketClient, payload: object, queue = 'pay'): Promise<string> {
  const job = await submitter.submit({ type: 'charge', queue, payload, maxAttempts: 1 });
  const [claimed] = await worker.claim([queue], 'w', { max: 1 });
  expect(claimed!.id).toBe(job.id);
  await worker.fail(job.id, claimed!.leaseToken, { error: { message: 'card declined' }, retryable: false });
  return job.id;
}

const ids = (page: { jobs: { id: string }[] }) => page.jobs.map((j) => j.id).sort();

describe.each(DEPLOYMENTS)('job actions, $name', (deployment) => {
  it('finds jobs by a payload field, and refuses a malformed one naming it', async () => {
    const as = await serve(await deployment.open());
    const acme = await as('acme', 'submitter');
    const a = await acme.submit({ type: 't', payload: { customer: { id: 42, name: 'Ada' }, total: 9.5 } });
    const b = await acme.submit({ type: 't', payload: { customer: { id: 7 } } });
    await acme.submit({ type: 't', payload: ['not', 'an', 'object'] });
    const find = (q: string) => acme.request<{ jobs: { id: string }[] }>('GET', `/v1/jobs?payload=${encodeURIComponent(q)}`);
    expect(ids(await find('customer.id=42'))).toEqual([a.id]);
    expect(ids(await find('customer.name=Ada'))).toEqual([a.id]);
    expect(ids(await find('total=9.5'))).toEqual([a.id]);
    expect(ids(await find('customer.id=7'))).toEqual([b.id]);
    expect(ids(await find('customer.id=8'))).toEqual([]);
    const bad = await find('=42').catch((e: DocketApiError) => e);
    expect(bad).toMatchObject({ status: 400 });
    expect((bad as DocketApiError).problem?.errors?.[0]?.path).toBe('/payload');
  });

  it('retries a failed job in place: same id, a new attempt budget, its errors kept', async () => {
    const as = await serve(await deployment.open());
    const acme = await as('acme', 'submitter');
    const id = await failed(await as('acme', 'worker'), acme, { n: 1 });
    const retried = await acme.request<{ id: string; state: string; attempt: number; errors: unknown[] }>('POST', `/v1/jobs/${id}/retry`);
    expect(retried).toMatchObject({ id, state: 'ready', attempt: 0 });
    expect(retried.errors).toHaveLength(1);
    // Not failed any more: a second retry is a 409 that says the state; another tenant gets 404; a viewer 403.
    await expect(acme.request('POST', `/v1/jobs/${id}/retry`)).rejects.toMatchObject({ status: 409, problem: { state: 'ready' } });
    await expect((await as('globex', 'submitter')).request('POST', `/v1/jobs/${id}/retry`)).rejects.toMatchObject({ status: 404 });
    await expect((await as('acme', 'viewer')).request('POST', `/v1/jobs/${id}/retry`)).rejects.toMatchObject({ status: 403 });
  });

  it('cancels, retries and deletes many jobs, selected or matching a filter, after a dry run that counts them', async () => {
    const as = await serve(await deployment.open());
    const acme = await as('acme', 'submitter');
    const worker = await as('acme', 'worker');
    const globex = await as('globex', 'submitter');
    const dead = [];
    for (let i = 0; i < 5; i++) dead.push(await failed(worker, acme, { batch: 'b1', i }));
    await failed(await as('globex', 'worker'), globex, { batch: 'b1' });
    const waiting = await acme.submit({ type: 'charge', queue: 'later', payload: { batch: 'b1' }, runAt: new Date(Date.now() + 3600_000).toISOString() });

    const act = (body: object) => acme.request<{ action: string; matched: number; applied: number; ids: string[] }>('POST', '/v1/jobs/actions', body);
    // A filter sees only the caller's tenant; the action only the jobs it applies to.
    expect(await act({ action: 'retry', filter: { payload: 'batch=b1' }, dryRun: true })).toEqual({ action: 'retry', matched: 5, applied: 0, ids: [] });
    expect((await acme.get(dead[0]!)).state).toBe('failed');
    const retried = await act({ action: 'retry', filter: { state: 'failed', queue: 'pay' } });
    expect(retried).toMatchObject({ matched: 5, applied: 5 });
    expect(retried.ids.sort()).toEqual([...dead].sort());
    expect((await acme.get(dead[0]!)).state).toBe('ready');

    expect(await act({ action: 'cancel', ids: [...dead.slice(0, 2), waiting.id, 'missing'], dryRun: true })).toMatchObject({ matched: 3 });
    expect(await act({ action: 'cancel', ids: [...dead.slice(0, 2), waiting.id] })).toMatchObject({ matched: 3, applied: 3 });
    expect((await acme.get(waiting.id)).state).toBe('cancelled');
    expect(await act({ action: 'delete', filter: { state: 'cancelled' } })).toMatchObject({ matched: 3, applied: 3 });
    await expect(acme.get(waiting.id)).rejects.toMatchObject({ status: 404 });

    await expect(act({ action: 'delete', ids: [dead[3]!], filter: {} })).rejects.toMatchObject({ status: 400 });
    await expect(act({ action: 'explode', ids: [dead[3]!] })).rejects.toMatchObject({ status: 400 });
    await expect((await as('acme', 'viewer')).request('POST', '/v1/jobs/actions', { action: 'cancel', filter: {} })).rejects.toMatchObject({ status: 403 });
  });
});
