// Alerts (docs/alerts.md): the config section, the rules on both deployments (embedded; PostgreSQL +
// Redis) with a manual clock (so "for T" is tested without sleeping), the events a firing and a
// resolution log, a new leader going on from the stored state, and GET /v1/alerts (embedded).
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { parseConfigFile } from '../src/config/index.js';
import { Docket } from '../src/app/docket.js';
import type { AlertRule } from '../src/domain/alerts.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { AlertEvaluator } from '../src/services/alerts/evaluator.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { describeOnManualDeployments } from './helpers/deployments.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the alerts section of the configuration file', () => {
  it('reads every kind, in seconds, into rules in ms', () => {
    const config = parseConfigFile({
      alerts: {
        evaluateEverySeconds: 30,
        rules: [
          { name: 'emails-backlog', kind: 'queue-depth', queue: 'emails', above: 1000, forSeconds: 300 },
          { name: 'emails-stale', kind: 'oldest-ready', queue: 'emails', olderThanSeconds: 600 },
          { name: 'emails-failing', kind: 'failure-rate', queue: 'emails', above: 0.1, overSeconds: 900, minJobs: 20 },
          { name: 'dead-letters', kind: 'dead-letter-growth', above: 50, overSeconds: 3600 },
          { name: 'no-email-worker', kind: 'no-worker', queue: 'emails', forSeconds: 60 },
          { name: 'payments-down', kind: 'condition-open', condition: 'service:payments*', longerThanSeconds: 300 },
        ],
      },
    });
    expect(config.alerts!.intervalMs).toBe(30_000);
    expect(config.alerts!.rules).toEqual([
      { name: 'emails-backlog', kind: 'queue-depth', queue: 'emails', threshold: 1000, forMs: 300_000, windowMs: 0 },
      { name: 'emails-stale', kind: 'oldest-ready', queue: 'emails', threshold: 600, forMs: 0, windowMs: 0 },
      { name: 'emails-failing', kind: 'failure-rate', queue: 'emails', threshold: 0.1, forMs: 0, windowMs: 900_000, minJobs: 20 },
      { name: 'dead-letters', kind: 'dead-letter-growth', queue: null, threshold: 50, forMs: 0, windowMs: 3_600_000 },
      { name: 'no-email-worker', kind: 'no-worker', queue: 'emails', threshold: 0, forMs: 60_000, windowMs: 0 },
      { name: 'payments-down', kind: 'condition-open', queue: null, threshold: 300, forMs: 0, windowMs: 0, condition: 'service:payments*' },
    ]);
  });

  it('takes the examples of docs/alerts.md and the README as they are', () => {
    const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
    const blocks = [...read('../docs/alerts.md').matchAll(/```json\n([\s\S]*?)```/g), ...read('../README.md').matchAll(/```json\n([\s\S]*?)```/g)]
      .map((b) => JSON.parse(b[1]!))
      .filter((j) => 'alerts' in j && !Array.isArray(j.alerts));
    expect(blocks).toHaveLength(2);
    for (const b of blocks) expect(parseConfigFile(b).alerts!.rules.length).toBeGreaterThan(0);
    expect(parseConfigFile(blocks[0]).alerts!.rules.map((r) => r.kind)).toEqual(['queue-depth', 'oldest-ready', 'failure-rate', 'dead-letter-growth', 'no-worker', 'condition-open']);
  });

  it('names the file and the path of every bad entry', () => {
    const bad = (alerts: unknown) => () => parseConfigFile({ alerts }, 'docket.json');
    expect(bad({ rules: [{ name: 'a', kind: 'queue-depth', queue: 'q', above: 'many' }] })).toThrow(/^docket\.json: \/alerts\/rules\/0\/above: Expected integer/);
    expect(bad({ rules: [{ name: 'a', kind: 'queue-size', queue: 'q' }] })).toThrow(/docket\.json: \/alerts\/rules\/0\/kind: "queue-size" is not a rule kind; use one of queue-depth, /);
    expect(bad({ rules: [{ name: 'a', kind: 'no-worker' }] })).toThrow(/\/alerts\/rules\/0\/queue: required/);
    expect(bad({ rules: [{ name: 'a', kind: 'no-worker', queue: 'q', above: 3 }] })).toThrow(/\/alerts\/rules\/0\/above: unknown field/);
    expect(bad({ rules: [{ name: 'a', kind: 'no-worker', queue: 'q' }, { name: 'a', kind: 'no-worker', queue: 'r' }] })).toThrow(/\/alerts\/rules\/1\/name: "a" is already the name of \/alerts\/rules\/0/);
    expect(bad({ rules: [{ name: 'a', kind: 'failure-rate', queue: 'q', above: 2, overSeconds: 60 }] })).toThrow('docket.json: /alerts/rules/0/above: Expected number to be less or equal to 1 (got 2)');
    expect(bad({ rule: [] })).toThrow(/docket\.json: \/alerts/);
  });
});

describe('alert rules', () => {
  describeOnManualDeployments({}, (open) => {
    async function engine(rules: AlertRule[]) {
      const { docket, store, clock } = await open({ rules: { ...parseConfigFile({}), alerts: { intervalMs: 15_000, rules } } });
      const evaluator = docket.alerts!.evaluator;
      // PostgreSQL: the relay (a leader duty, not started here) positions logged events; do it by hand.
      const alertEvents = async () => (await store.events.position(1000), await store.events.read(0, 1000, { topics: ['alert-events'] })).map((e) => ({ type: e.type, tenant: e.tenant, key: e.key, rule: e.data.rule, state: e.data.state }));
      return { docket, store, clock, evaluator, alerts: docket.alerts!.store, alertEvents };
    }

    it('queue-depth fires only after holding for T, logs the events, and resolves', async () => {
      const rule: AlertRule = { name: 'backlog', kind: 'queue-depth', queue: 'emails', threshold: 2, forMs: 60_000, windowMs: 0 };
      const { docket, clock, evaluator, alerts, alertEvents } = await engine([rule]);
      await docket.jobs.submitter.submit([1, 2, 3].map(() => ({ type: 'send', queue: 'emails' })), { tenant: 'acme' });

      expect((await evaluator.runOnce()).fired).toEqual([]); // pending from now
      clock.advance(30_000);
      expect((await evaluator.runOnce()).fired).toEqual([]); // 30 s of 60
      clock.advance(30_000);
      const { fired } = await evaluator.runOnce();
      expect(fired).toMatchObject([{ rule: 'backlog', kind: 'queue-depth', queue: 'emails', state: 'firing', value: 3, threshold: 2, resolvedAt: null, message: 'queue emails: 3 ready jobs (alert above 2)' }]);
      // Still above: it keeps firing, once.
      clock.advance(15_000);
      expect((await evaluator.runOnce()).fired).toEqual([]);
      expect(await alerts.list({ state: 'firing', limit: 10 })).toHaveLength(1);

      const [claimed] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['emails'], max: 2 }).then((jobs) => [jobs]);
      expect(claimed).toHaveLength(2);
      clock.advance(15_000);
      const report = await evaluator.runOnce();
      expect(report.resolved).toEqual([fired[0]!.id]);
      const [resolved] = await alerts.list({ limit: 10 });
      expect(resolved).toMatchObject({ id: fired[0]!.id, state: 'resolved', value: 1, firedAt: fired[0]!.firedAt, resolvedAt: clock.now() });
      expect(await alertEvents()).toEqual([
        { type: 'firing', tenant: '*', key: fired[0]!.id, rule: 'backlog', state: 'firing' },
        { type: 'resolved', tenant: '*', key: fired[0]!.id, rule: 'backlog', state: 'resolved' },
      ]);

      // A dip below the threshold restarts "for T".
      await docket.jobs.submitter.submit([1, 2].map(() => ({ type: 'send', queue: 'emails' })), { tenant: 'acme' });
      await evaluator.runOnce();
      clock.advance(59_000);
      expect((await evaluator.runOnce()).fired).toEqual([]);
    });

    it('a new leader goes on from the stored state: pending keeps its start, a firing alert is not fired again', async () => {
      const rule: AlertRule = { name: 'backlog', kind: 'queue-depth', queue: 'q', threshold: 0, forMs: 60_000, windowMs: 0 };
      const { docket, store, clock, evaluator, alerts } = await engine([rule]);
      await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
      await evaluator.runOnce();
      clock.advance(40_000);
      // The old leader dies; a new one (another evaluator on the same store) takes over.
      const next = new AlertEvaluator(alerts, store, docket.workers, clock, { rules: [rule], intervalMs: 15_000 }, (e) => { throw e; });
      clock.advance(20_000);
      expect((await next.runOnce()).fired).toHaveLength(1);
      // The old leader, still running for a moment with its stale view, does not fire it again.
      expect((await evaluator.runOnce()).fired).toEqual([]);
      expect(await alerts.list({ limit: 10 })).toHaveLength(1);
    });

    it('two evaluators writing the same state: the second write does not apply', async () => {
      const rule: AlertRule = { name: 'backlog', kind: 'queue-depth', queue: 'q', threshold: 0, forMs: 0, windowMs: 0 };
      const { docket, store, clock, alerts } = await engine([rule]);
      await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
      const a = new AlertEvaluator(alerts, store, docket.workers, clock, { rules: [rule], intervalMs: 15_000 }, () => {});
      const b = new AlertEvaluator(alerts, store, docket.workers, clock, { rules: [rule], intervalMs: 15_000 }, () => {});
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
      expect(ra.fired.length + rb.fired.length).toBe(1);
      expect(await alerts.list({ limit: 10 })).toHaveLength(1);
    });

    it('oldest-ready, failure-rate, dead-letter-growth, no-worker and condition-open', async () => {
      const rules: AlertRule[] = [
        { name: 'stale', kind: 'oldest-ready', queue: 'q', threshold: 120, forMs: 0, windowMs: 0 },
        { name: 'failing', kind: 'failure-rate', queue: 'work', threshold: 0.5, forMs: 0, windowMs: 600_000, minJobs: 3 },
        { name: 'dead', kind: 'dead-letter-growth', queue: null, threshold: 2, forMs: 0, windowMs: 600_000 },
        { name: 'nobody', kind: 'no-worker', queue: 'remote', threshold: 0, forMs: 0, windowMs: 0 },
        { name: 'payments', kind: 'condition-open', queue: null, threshold: 60, forMs: 0, windowMs: 0, condition: 'service:pay*' },
      ];
      const { docket, clock, evaluator, alerts } = await engine(rules);
      const firing = async () => (await alerts.list({ state: 'firing', limit: 100 })).map((a) => a.rule).sort();
      const worker = await docket.workers.register({ queues: ['remote'], name: 'r1' });

      await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
      await evaluator.runOnce();
      expect(await firing()).toEqual([]);
      clock.advance(121_000);
      await docket.workers.touch(worker);
      await evaluator.runOnce();
      expect(await firing()).toEqual(['stale']);
      expect((await alerts.list({ state: 'firing', limit: 1 }))[0]).toMatchObject({ value: 121, threshold: 120 });

      // 3 of 4 jobs of `work` fail for good: a rate of 0.75; 3 dead letters in the window.
      await docket.jobs.submitter.submit([1, 2, 3, 4].map(() => ({ type: 't', queue: 'work', maxAttempts: 1 })), { tenant: 'acme' });
      const jobs = await docket.jobs.claims.claim({ workerId: 'w', queues: ['work'], max: 4 });
      for (const [i, job] of jobs.entries()) {
        if (i === 0) await docket.jobs.outcomes.complete(job.id, job.leaseToken!, null);
        else await docket.jobs.outcomes.fail(job.id, job.leaseToken!, { message: 'boom', retryable: false });
      }
      await docket.jobs.outcomes.drain();
      // A job parks under a condition.
      await docket.jobs.submitter.submit([{ type: 't', queue: 'pay' }], { tenant: 'acme' });
      const [pay] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['pay'], max: 1 });
      await docket.jobs.outcomes.fail(pay!.id, pay!.leaseToken!, { message: 'down', condition: 'service:payments' });
      await evaluator.runOnce();
      expect(await firing()).toEqual(['dead', 'failing', 'stale']);
      const failing = (await alerts.list({ state: 'firing', limit: 100 })).find((a) => a.rule === 'failing')!;
      expect(failing).toMatchObject({ kind: 'failure-rate', queue: 'work', value: 0.75, threshold: 0.5 });
      expect(failing.message).toBe('queue work: 3 of 4 jobs ended failed in the last 600 s, a rate of 0.75 (alert above 0.5)');

      // The remote worker goes silent, the condition stays open past a minute.
      clock.advance(61_000);
      await docket.monitor.runOnce();
      await evaluator.runOnce();
      expect(await firing()).toEqual(['dead', 'failing', 'nobody', 'payments', 'stale']);
      const payments = (await alerts.list({ state: 'firing', limit: 100 })).find((a) => a.rule === 'payments')!;
      expect(payments.message).toBe('condition service:payments has been open 61 s (alert above 60 s)');

      // The window moves past the failures: those resolve.
      clock.advance(600_000);
      await docket.workers.touch(worker);
      await evaluator.runOnce();
      expect(await firing()).toEqual(['payments', 'stale']);
    });

    it('an alert of a rule removed from the configuration resolves', async () => {
      const rule: AlertRule = { name: 'backlog', kind: 'queue-depth', queue: 'q', threshold: 0, forMs: 0, windowMs: 0 };
      const { docket, store, clock, evaluator, alerts } = await engine([rule]);
      await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
      await evaluator.runOnce();
      const without = new AlertEvaluator(alerts, store, docket.workers, clock, { rules: [], intervalMs: 15_000 }, (e) => { throw e; });
      clock.advance(1000);
      expect((await without.runOnce()).resolved).toHaveLength(1);
      expect(await alerts.list({ limit: 10 })).toMatchObject([{ state: 'resolved', message: 'rule backlog was removed from the configuration' }]);
    });
  });
});

describe('GET /v1/alerts', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('lists alerts in the contract shape, filters by state, and is for admins and viewers', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 12));
    const store = new SqliteStore({ path: ':memory:' });
    const rules: AlertRule[] = [
      { name: 'backlog', kind: 'queue-depth', queue: 'q', threshold: 0, forMs: 0, windowMs: 0 },
      { name: 'dead', kind: 'dead-letter-growth', queue: null, threshold: 100, forMs: 0, windowMs: 60_000 },
    ];
    const docket = new Docket({ store, dispatch: new MemoryDispatch(clock), clock, leadership: null, rules: { ...parseConfigFile({}), alerts: { intervalMs: 15_000, rules } } });
    await docket.start();
    cleanups.push(() => docket.stop());
    await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
    const { fired } = await docket.alerts!.evaluator.runOnce();
    app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), alerts: docket.alerts!.store });
    const get = async (url: string, roles: Parameters<typeof tokenFor>[1]) =>
      app!.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await tokenFor('acme', roles)}` } });

    const res = await get('/v1/alerts', ['viewer']);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      alerts: [
        {
          id: fired[0]!.id,
          rule: 'backlog',
          kind: 'queue-depth',
          queue: 'q',
          state: 'firing',
          value: 1,
          threshold: 0,
          firedAt: '2026-11-23T12:00:00.000Z',
          resolvedAt: null,
          message: 'queue q: 1 ready jobs (alert above 0)',
        },
      ],
    });
    expect((await get('/v1/alerts?state=resolved', ['admin'])).json()).toEqual({ alerts: [] });
    expect((await get('/v1/alerts?state=firing', ['admin'])).json().alerts).toHaveLength(1);
    expect((await get('/v1/alerts?state=burning', ['admin'])).statusCode).toBe(400);
    expect((await get('/v1/alerts', ['submitter'])).statusCode).toBe(403);
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/v1/alerts'].get.responses['200']).toMatchObject({ content: { 'application/json': { schema: { type: 'object', properties: { alerts: { type: 'array' } } } } } });
  });

  it('reaches webhook subscriptions of the cluster (admins, cluster: true) selecting alert.*', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 12));
    const store = new SqliteStore({ path: ':memory:' });
    const rules: AlertRule[] = [{ name: 'backlog', kind: 'queue-depth', queue: 'q', threshold: 0, forMs: 0, windowMs: 0 }];
    const docket = new Docket({ store, dispatch: new MemoryDispatch(clock), clock, leadership: null, rules: { ...parseConfigFile({}), alerts: { intervalMs: 15_000, rules } } });
    await docket.start();
    cleanups.push(() => docket.stop());
    app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), alerts: docket.alerts!.store, webhooks: docket.webhooks!.service });
    const create = async (roles: Parameters<typeof tokenFor>[1]) =>
      app!.inject({ method: 'POST', url: '/v1/webhooks', headers: { authorization: `Bearer ${await tokenFor('ops', roles)}` }, payload: { url: 'https://example.com/alerts', events: ['alert.*'], cluster: true } });
    expect((await create(['submitter'])).statusCode).toBe(403);
    const created = await create(['admin']);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ tenant: '*', events: ['alert.*'] });

    clock.advance(1000);
    await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
    const { fired } = await docket.alerts!.evaluator.runOnce();
    await docket.relay.runOnce();
    expect(await docket.webhooks!.dispatcher.runOnce()).toBe(1);
    const deliveries = await app.inject({ method: 'GET', url: `/v1/webhooks/${created.json().id}/deliveries`, headers: { authorization: `Bearer ${await tokenFor('ops', ['admin'])}` } });
    expect(deliveries.json().deliveries).toMatchObject([{ eventType: 'docket.alert.firing' }]);
    // The envelope the hook gets: the alert as /v1/alerts shows it.
    const [event] = await store.events.read(0, 100, { topics: ['alert-events'] });
    expect(event).toMatchObject({ tenant: '*', key: fired[0]!.id, type: 'firing', data: { id: fired[0]!.id, rule: 'backlog', state: 'firing', queue: 'q', firedAt: '2026-11-23T12:00:01.000Z' } });
  });
});
