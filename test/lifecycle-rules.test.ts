// The lifecycle rules (expiry, attempts and backoff, lease loss, release and cancel, validation)
// on both deployments: embedded (SQLite + memory dispatch) and production (PostgreSQL + Redis),
// each with a manual clock, no jitter and no loops started.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../src/domain/errors.js';
import type { LifecycleEvent } from '../src/services/lifecycle.js';
import { manualDeployments, type ManualDeployment, type ManualEngine } from './helpers/deployments.js';

const LEASE_MS = 10_000;
/** The deployments per engine option (a payload limit needs engines of its own); [embedded, production] each. */
const made = new Map<string, ManualDeployment[]>();
/** Which of the two the enclosing describe runs on. */
let current = 0;
let engine: ManualEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});
afterAll(async () => {
  for (const list of made.values()) for (const d of list) await d.cleanup();
});

/** An engine of the current deployment: a manual clock, no jitter, loops not started. */
async function start(opts: { maxPayloadBytes?: number } = {}) {
  const key = JSON.stringify(opts);
  if (!made.has(key)) made.set(key, manualDeployments({ leaseMs: LEASE_MS, ...opts }));
  const e = (engine = await made.get(key)![current]!.open());
  const { docket: d, clock, dispatch, service } = e;
  const events: LifecycleEvent[] = [];
  service.transitions.lifecycle.on((ev) => events.push(ev));
  return {
    d,
    clock,
    dispatch,
    service,
    events,
    moves: (id: string) => events.filter((ev) => ev.job.id === id).map((ev) => `${ev.from}->${ev.to}`),
    iso: (ms: number) => new Date(ms).toISOString(),
    submit: (inputs: object[]) => service.submitter.submit(inputs, { tenant: 't1' }),
    claim: (max = 1, workerId = 'w1') => service.claims.claim({ workerId, queues: ['default'], max }),
    get: async (id: string) => (await service.queries.get(id))!,
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to be rejected');
}

for (const [index, deployment] of manualDeployments().entries()) {
  describe(deployment.name, () => {
    beforeAll(() => {
      current = index;
    });

    describe('expiry', () => {
      it('never claims a ready job past its expiresAt: the claim returns nothing and the job is expired', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', expiresAt: e.iso(e.clock.now() + 1000) }]);
        e.clock.advance(1000);
        expect(await e.claim(5)).toEqual([]);
        expect(await e.get(job!.id)).toMatchObject({ state: 'expired', attempt: 0, startedAt: null, leaseToken: null });
        expect(e.moves(job!.id)).toEqual(['null->ready', 'ready->expired']);
        expect(await e.dispatch.placesOf([job!.id])).toEqual([[]]);
      });

      it('the expirer moves scheduled and ready jobs past expiry, and leaves running and unexpired ones', async () => {
        const e = await start();
        const now = e.clock.now();
        const [runner] = await e.submit([{ type: 'running', expiresAt: e.iso(now + 1500) }]);
        expect((await e.claim())[0]!.id).toBe(runner!.id);
        const [ready, sched, keep, later] = await e.submit([
          { type: 'ready', expiresAt: e.iso(now + 1000) },
          { type: 'scheduled', delayMs: 500, expiresAt: e.iso(now + 2000) },
          { type: 'keep' },
          { type: 'later', expiresAt: e.iso(now + 10_000) },
        ]);
        e.clock.advance(2000);
        expect(await e.d.expirer.runOnce()).toBe(2);
        for (const j of [ready!, sched!]) {
          expect(await e.get(j.id)).toMatchObject({ state: 'expired', stateReason: 'expired_before_start', finishedAt: now + 2000 });
          expect(await e.dispatch.placesOf([j.id])).toEqual([[]]);
        }
        expect(e.moves(sched!.id)).toEqual(['null->scheduled', 'scheduled->expired']);
        expect((await e.get(runner!.id)).state).toBe('running');
        expect(await e.d.promoter.runOnce()).toBe(0);
        expect((await e.claim(10)).map((j) => j.id)).toEqual([keep!.id, later!.id]);
        expect(await e.d.expirer.runOnce()).toBe(0);
      });
    });

    describe('attempts and backoff', () => {
      it('retries after the backoff delay and fails for good after the last attempt, keeping every error', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000, jitter: 0 } }]);
        const t0 = e.clock.now();

        let [run] = await e.claim();
        e.clock.advance(100);
        expect(await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'e1', code: 'E1' })).toMatchObject({ ok: true });
        expect(await e.get(job!.id)).toMatchObject({ state: 'retrying', runAt: t0 + 100 + 1000, stateReason: 'E1', attempt: 1 });
        expect(await e.dispatch.placesOf([job!.id])).toEqual([['delayed']]);
        expect(await e.claim()).toEqual([]);
        e.clock.advance(999);
        expect(await e.d.promoter.runOnce()).toBe(0);
        e.clock.advance(1);
        expect(await e.d.promoter.runOnce()).toBe(1);

        [run] = await e.claim();
        expect(run!.attempt).toBe(2);
        await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'e2' });
        expect((await e.get(job!.id)).runAt).toBe(e.clock.now() + 2000);
        e.clock.advance(2000);
        await e.d.promoter.runOnce();

        [run] = await e.claim();
        expect(run!.attempt).toBe(3);
        await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'e3' });
        const failed = await e.get(job!.id);
        expect(failed).toMatchObject({ state: 'failed', stateReason: 'attempts_exhausted', attempt: 3, finishedAt: e.clock.now() });
        expect(failed.errors).toEqual([
          { message: 'e1', code: 'E1', attempt: 1, at: t0 + 100 },
          { message: 'e2', attempt: 2, at: t0 + 1100 },
          { message: 'e3', attempt: 3, at: t0 + 3100 },
        ]);
        expect(await e.dispatch.placesOf([job!.id])).toEqual([[]]);
        e.clock.advance(3_600_000);
        expect(await e.d.promoter.runOnce()).toBe(0);
        expect(await e.claim()).toEqual([]);
      });

      it('fails at once on a permanent error (retryable: false), whatever attempts are left', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', maxAttempts: 5 }]);
        const [run] = await e.claim();
        await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'bad input', retryable: false });
        expect(await e.get(job!.id)).toMatchObject({ state: 'failed', stateReason: 'permanent_error', attempt: 1 });
        expect((await e.get(job!.id)).errors).toHaveLength(1);
        expect(e.moves(job!.id)).toEqual(['null->ready', 'ready->running', 'running->failed']);
      });
    });

    describe('lease loss', () => {
      it('gives the job back after the lease runs out, counts the attempt and fences off the old worker', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', maxAttempts: 3 }]);
        const [first] = await e.claim(1, 'w1');
        e.clock.advance(LEASE_MS + 1);
        expect(await e.d.reaper.runOnce()).toBe(1);
        const lost = await e.get(job!.id);
        expect(lost).toMatchObject({ state: 'ready', attempt: 1, stateReason: 'lease_expired', leaseExpiresAt: null });
        expect(lost.errors).toEqual([expect.objectContaining({ code: 'lease_expired', attempt: 1 })]);
        expect(e.events.at(-1)).toMatchObject({ from: 'running', to: 'ready', cause: 'lease_lost' });

        const [second] = await e.claim(1, 'w2');
        expect(second).toMatchObject({ id: job!.id, attempt: 2, workerId: 'w2' });
        expect(second!.leaseToken).not.toBe(first!.leaseToken);
        const stale = first!.leaseToken!;
        expect(await e.service.outcomes.complete(job!.id, stale, 'late')).toEqual({ ok: false, reason: 'lease_mismatch', state: 'running' });
        expect(await e.service.outcomes.fail(job!.id, stale, { message: 'late' })).toEqual({ ok: false, reason: 'lease_mismatch', state: 'running' });
        expect((await e.service.outcomes.heartbeat([{ id: job!.id, leaseToken: stale }])).lost).toEqual([job!.id]);
        expect(await e.get(job!.id)).toMatchObject({ state: 'running', leaseToken: second!.leaseToken, workerId: 'w2' });

        expect(await e.service.outcomes.complete(job!.id, second!.leaseToken!, 'done')).toMatchObject({ ok: true });
        expect(await e.get(job!.id)).toMatchObject({ state: 'succeeded', result: 'done' });
      });

      it('fails the job when the lease runs out on the last attempt', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', maxAttempts: 2 }]);
        for (let i = 0; i < 2; i++) {
          await e.claim();
          e.clock.advance(LEASE_MS + 1);
          await e.d.reaper.runOnce();
        }
        const failed = await e.get(job!.id);
        expect(failed).toMatchObject({ state: 'failed', stateReason: 'lease_expired', attempt: 2, finishedAt: e.clock.now() });
        expect(failed.errors.map((x) => [x.code, x.attempt])).toEqual([['lease_expired', 1], ['lease_expired', 2]]);
        expect(await e.dispatch.placesOf([job!.id])).toEqual([[]]);
        expect(e.moves(job!.id).at(-1)).toBe('running->failed');
      });

      it('keeps the job with a worker that heartbeats', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x' }]);
        const [run] = await e.claim();
        e.clock.advance(6000);
        expect((await e.service.outcomes.heartbeat([{ id: run!.id, leaseToken: run!.leaseToken! }])).lost).toEqual([]);
        e.clock.advance(6000);
        expect(await e.d.reaper.runOnce()).toBe(0);
        expect((await e.get(job!.id)).state).toBe('running');
        e.clock.advance(4001);
        expect(await e.d.reaper.runOnce()).toBe(1);
      });
    });

    describe('release and cancel', () => {
      it('release gives the job back without counting the attempt', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x', maxAttempts: 1 }]);
        const [run] = await e.claim();
        expect(await e.service.outcomes.release(run!.id, run!.leaseToken!)).toMatchObject({ ok: true });
        expect(await e.get(job!.id)).toMatchObject({ state: 'ready', attempt: 0 });
        expect(await e.dispatch.placesOf([job!.id])).toEqual([['ready']]);
        const [again] = await e.claim();
        expect(again!.attempt).toBe(1); // still within maxAttempts: 1
      });

      it('cancelling a running job emits running -> cancelled and rejects the worker\'s later complete', async () => {
        const e = await start();
        const [job] = await e.submit([{ type: 'x' }]);
        const [run] = await e.claim();
        expect(await e.service.cancels.cancel(job!.id)).toMatchObject({ ok: true, from: 'running', job: { state: 'cancelled' } });
        expect(e.events.at(-1)).toMatchObject({ from: 'running', to: 'cancelled', cause: 'cancel', job: { id: job!.id } });
        expect(await e.service.outcomes.complete(run!.id, run!.leaseToken!, 'too late')).toEqual({ ok: false, reason: 'wrong_state', state: 'cancelled' });
        expect(await e.service.outcomes.heartbeat([{ id: run!.id, leaseToken: run!.leaseToken! }])).toEqual({ lost: [run!.id], cancelled: [run!.id] });
        expect(await e.get(job!.id)).toMatchObject({ state: 'cancelled', stateReason: 'cancelled_by_user', result: undefined });
        expect(await e.service.cancels.cancel(job!.id)).toEqual({ ok: false, reason: 'wrong_state', state: 'cancelled' });
      });
    });

    describe('validation', () => {
      const cases: [string, object, string][] = [
        ['priority 0', { type: 'x', priority: 0 }, '/priority'],
        ['priority 11', { type: 'x', priority: 11 }, '/priority'],
        ['a negative timeoutMs', { type: 'x', timeoutMs: -1 }, '/timeoutMs'],
        ['an unknown field', { type: 'x', colour: 'red' }, '/colour'],
        ['expiresAt before runAt', { type: 'x', runAt: '2026-03-01T10:00:00Z', expiresAt: '2026-03-01T09:00:00Z' }, '/expiresAt'],
      ];
      for (const [what, input, path] of cases) {
        it(`rejects ${what}, naming ${path}, and writes nothing`, async () => {
          const e = await start();
          const err = await rejection(e.submit([input]));
          expect(err).toBeInstanceOf(ValidationError);
          expect((err as ValidationError).issues.map((i) => i.path)).toEqual([path]);
          expect((await e.service.queries.list({}, 10)).jobs).toEqual([]);
        });
      }

      it('rejects a payload over maxPayloadBytes with PayloadTooLargeError', async () => {
        const e = await start({ maxPayloadBytes: 64 });
        const err = await rejection(e.submit([{ type: 'x', payload: { blob: 'x'.repeat(100) } }]));
        expect(err).toBeInstanceOf(PayloadTooLargeError);
        expect(err).toMatchObject({ path: '/payload', limit: 64 });
        const [ok] = await e.submit([{ type: 'x', payload: { blob: 'x'.repeat(40) } }]);
        expect(ok!.payload).toEqual({ blob: 'x'.repeat(40) });
      });

      it('a bulk submit with one bad item writes nothing and names the item', async () => {
        const e = await start({ maxPayloadBytes: 64 });
        const good = { type: 'x' };
        const err = await rejection(e.submit([good, good, { type: 'x', priority: 0 }, good]));
        expect((err as ValidationError).issues).toEqual([expect.objectContaining({ path: '/2/priority' })]);
        expect(await rejection(e.submit([good, { type: 'x', payload: 'y'.repeat(100) }]))).toMatchObject({ path: '/1/payload' });

        const counts = await e.d.store.countByState({});
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
        expect(await e.dispatch.readyCount('default')).toBe(0);
        expect(e.events).toEqual([]);
      });
    });
  });
}
