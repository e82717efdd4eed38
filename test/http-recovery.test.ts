// Dead letters and recovery conditions over real HTTP, as an operator and a remote worker use them.
import { expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { parseConfigFile, type FileConfig } from '../src/config/index.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';

// On both deployments (embedded; PostgreSQL + Redis): dead letters, conditions and parked jobs are
// the store's, claims the dispatch's.
const { onBoth, start: serve } = both();
let base = '';

async function start(rules?: FileConfig, clock?: ManualClock) {
  ({ base } = await serve({ ...(rules ? { rules } : {}), ...(clock ? { clock } : {}) }));
  const as = async (tenant: string, ...roles: Parameters<typeof tokenFor>[1]) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, roles) });
  return { acme: await as('acme', 'submitter'), worker: await as('acme', 'worker'), admin: await as('ops', 'admin'), other: await as('globex', 'submitter') };
}

/** Submits a job and has a remote worker fail it with `error`, plus `extra` fail fields. */
async function failOne(submitter: DocketClient, worker: DocketClient, type: string, error: { message: string; code?: string }, extra: object = {}, queue = 'default') {
  const job = await submitter.submit({ type, maxAttempts: 1, queue });
  const [claimed] = await worker.claim(queue, 'w1', { max: 1 });
  expect(claimed!.id).toBe(job.id);
  return worker.fail(job.id, claimed!.leaseToken, { error, ...extra });
}

onBoth('dead letters over HTTP', () => {
  it('lists failed jobs with their error history, filters by error text, requeues with a fresh budget, purges', async () => {
    const { acme, worker, other, admin } = await start();
    const timeout = await failOne(acme, worker, 'charge', { message: 'Gateway TIMEOUT after 30 s', code: 'ETIMEDOUT' });
    const refused = await failOne(acme, worker, 'charge', { message: 'card refused' }, { retryable: false });
    expect(timeout).toMatchObject({ state: 'failed', stateReason: 'attempts_exhausted' });
    expect(refused).toMatchObject({ state: 'failed', stateReason: 'permanent_error' });

    const all = await acme.deadLetters();
    expect(all.jobs.map((j) => j.id)).toEqual([refused.id, timeout.id]);
    expect((await acme.deadLetters({ error: 'timeout' })).jobs.map((j) => j.id)).toEqual([timeout.id]);
    expect(await acme.deadLetter(timeout.id)).toMatchObject({ errors: [{ message: 'Gateway TIMEOUT after 30 s', code: 'ETIMEDOUT', attempt: 1 }] });
    // Another tenant sees none of them, and an unfinished job is no dead letter.
    expect((await other.deadLetters()).jobs).toEqual([]);
    await expect(other.deadLetter(timeout.id)).rejects.toMatchObject({ status: 404 });
    const live = await acme.submit({ type: 'charge' });
    await expect(acme.deadLetter(live.id)).rejects.toMatchObject({ status: 404 });
    expect(await other.requeueDeadLetters({ ids: [timeout.id] })).toEqual({ requeued: 0, ids: [] });

    expect(await acme.requeueDeadLetters({ filter: { error: 'timeout' } })).toEqual({ requeued: 1, ids: [timeout.id] });
    expect(await acme.get(timeout.id)).toMatchObject({ state: 'ready', attempt: 0, stateReason: 'requeued', finishedAt: null, errors: [{ code: 'ETIMEDOUT' }] });
    expect(await admin.purgeDeadLetters({ ids: [refused.id] })).toEqual({ purged: 1 });
    await expect(acme.get(refused.id)).rejects.toMatchObject({ status: 404 });

    // A selection needs ids or a filter; a viewer may read but not act.
    const bad = await acme.request('POST', '/v1/dead-letters/requeue', {}).catch((e: DocketApiError) => e);
    expect(bad).toMatchObject({ status: 400 });
    const viewer = new DocketClient({ baseUrl: base, token: await tokenFor('acme', ['viewer']) });
    await expect(viewer.purgeDeadLetters({ filter: {} })).rejects.toMatchObject({ status: 403 });
  });
});

onBoth('recovery conditions over HTTP', () => {
  it('parks a job a remote worker reports under a condition; an operator sees it, drains or fails it', async () => {
    const { acme, worker, admin } = await start();
    const parked = await failOne(acme, worker, 'charge', { message: 'payments-api: 503' }, { condition: 'service:payments-api' });
    expect(parked).toMatchObject({ state: 'blocked', condition: 'service:payments-api', attempt: 0, stateReason: 'parked' });

    const [condition] = await acme.conditions();
    expect(condition).toMatchObject({ key: 'service:payments-api', status: 'open', lastError: 'payments-api: 503', failures: 1, parkedTotal: 1, parked: [{ queue: 'default', tenant: 'acme', count: 1 }] });
    // Nothing is released before a probe succeeds: no rate, no time left yet (issue 21.1).
    expect(condition).toMatchObject({ releaseRate: 0, releaseEtaSeconds: null });
    await expect(acme.actOnCondition('service:payments-api', 'drain')).rejects.toMatchObject({ status: 403 });

    expect(await admin.actOnCondition('service:payments-api', 'drain')).toEqual({ key: 'service:payments-api', status: 'closed', released: 1 });
    expect(await acme.get(parked.id)).toMatchObject({ state: 'ready', stateReason: 'released_by_operator' });
    expect(await acme.conditions()).toEqual([]);

    const second = await failOne(acme, worker, 'charge', { message: 'still 503' }, { condition: 'service:payments-api' }, 'payments');
    expect(second.state).toBe('blocked');
    expect(await admin.actOnCondition('service:payments-api', 'fail')).toMatchObject({ status: 'closed', failed: 1 });
    expect(await acme.deadLetter(second.id)).toMatchObject({ state: 'failed', stateReason: 'condition:service:payments-api' });
    await expect(admin.condition('service:nope')).rejects.toMatchObject({ status: 404 });
  });
});

onBoth('a releasing condition over HTTP', () => {
  it('shows its release rate and the time left to release what is parked', async () => {
    // 0.1/s: three parked jobs take 30 s. The engine's clock is a manual one, so the condition is
    // read at the instant it started releasing, and again 10 s on.
    const clock = new ManualClock();
    const { acme, worker, admin } = await start(parseConfigFile({ recovery: { policies: [{ conditions: 'service:*', release: { perSecond: 0.1, maxPerSecond: 0.1 } }] } }), clock);
    for (let i = 0; i < 3; i++) await acme.submit({ type: 'charge' });
    for (const job of await worker.claim('default', 'w1', { max: 3 })) {
      await worker.fail(job.id, job.leaseToken, { error: { message: 'payments-api: 503' }, condition: 'service:payments-api' });
    }
    expect(await admin.actOnCondition('service:payments-api', 'release')).toMatchObject({ status: 'releasing' });
    const [c] = await admin.conditions();
    expect(c).toMatchObject({ status: 'releasing', releaseRate: 0.1, parkedTotal: 3 });
    // 30 s for all three at 0.1/s; 10 s later, 20 s left (a job the loop released meanwhile counts as done).
    expect(c!.releaseEtaSeconds).toBe(30);
    clock.advance(10_000);
    expect((await admin.conditions())[0]).toMatchObject({ status: 'releasing', releaseRate: 0.1, releaseEtaSeconds: 20 });
  });
});

onBoth('metrics', () => {
  it('exposes job counts and recovery state in Prometheus format to admins and viewers', async () => {
    const { acme, worker } = await start();
    await acme.submit({ type: 'charge', queue: 'billing' });
    await failOne(acme, worker, 'charge', { message: 'payments-api: 503' }, { condition: 'service:payments-api' });
    const scrape = async (token: string | null) => fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const res = await scrape(await tokenFor('ops', ['viewer']));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    // One sample per line: name{labels} value.
    const samples = new Map(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
    expect(samples.get('docket_jobs{queue="billing",state="ready"}')).toBe(1);
    expect(samples.get('docket_jobs{queue="default",state="blocked"}')).toBe(1);
    expect(samples.get('docket_recovery_parked_jobs{condition="service:payments-api",status="open"}')).toBe(1);
    expect(samples.get('docket_recovery_events_total{type="opened"}')).toBe(1);
    expect(text).toContain('# TYPE docket_jobs gauge');
    expect([...samples.values()].every((v) => Number.isFinite(v))).toBe(true);
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape(await tokenFor('acme', ['submitter']))).status).toBe(403);
  });
});
