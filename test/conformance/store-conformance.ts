import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobError } from '../../src/domain/job.js';
import type { Store } from '../../src/ports/store.js';
import { describeStoreApi } from './store-api.js';
import { describeStoreClaims } from './store-claims.js';
import { describeStoreQueries } from './store-queries.js';
import { describeStoreRecovery } from './store-recovery.js';
import { describeStoreEvents } from './store-events.js';
import { describeStoreDependencies } from './store-dependencies.js';
import { describeStoreDedup } from './store-dedup.js';
import { describeStoreActivity } from './store-activity.js';
import { describeStoreStateLists } from './store-states.js';
import { T0, insert, newJob, running, stateOf } from './fixtures.js';

export interface OpenedStore {
  store: Store;
  cleanup(): Promise<void>;
}

/**
 * The Store port's contract, written only against the port: every adapter (sqlite, postgres)
 * runs it. `open` returns a fresh, empty store; the suite migrates it.
 */
export function describeStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    let opened: OpenedStore | undefined;
    const ctx = {
      get store(): Store {
        if (!opened) throw new Error('store not open');
        return opened.store;
      },
    };
    beforeEach(async () => {
      opened = await open();
      await opened.store.migrate();
    });
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    describe('insertJobs and getJob', () => {
      it('inserts all jobs or none: a duplicate id in a batch leaves nothing inserted', async () => {
        const a = newJob();
        const b = newJob();
        await expect(ctx.store.insertJobs([a, b, { ...newJob(), id: a.id }])).rejects.toThrow();
        expect(await ctx.store.getJob(a.id)).toBeUndefined();
        expect(await ctx.store.getJob(b.id)).toBeUndefined();

        const existing = await insert(ctx.store);
        const c = newJob();
        await expect(ctx.store.insertJobs([c, { ...newJob(), id: existing.id }])).rejects.toThrow();
        expect(await ctx.store.getJob(c.id)).toBeUndefined();
        expect((await ctx.store.countByState({})).ready).toBe(1);
      });

      it('round-trips every field, with set and unset optional times', async () => {
        const payload = { to: 'ü@例え.jp', n: 42.5, list: [1, 'two', null, { deep: true }], nested: { empty: {} } };
        const full = newJob({
          tenant: 'acme',
          queue: 'mail',
          type: 'send.welcome',
          payloadJson: JSON.stringify(payload),
          priority: 2,
          labels: { region: 'eu-west', tier: 'gold' },
          state: 'scheduled',
          runAt: T0 + 60_000,
          expiresAt: T0 + 120_000,
          timeoutMs: 5000,
          maxAttempts: 7,
          backoff: { type: 'exponential', delayMs: 250, maxDelayMs: 10_000, jitter: 0.1 },
          linkId: 'order-17',
          resubmittedFrom: randomUUID(),
          createdAt: T0 - 5,
          templateId: 'welcome-mail',
          templateVersion: 3,
        });
        const bare = newJob({ payloadJson: '"just text"', backoff: { type: 'custom', delaysMs: [10, 20] } });
        await ctx.store.insertJobs([full, bare]);

        const got = await ctx.store.getJob(full.id);
        expect(got).toEqual({
          id: full.id,
          tenant: 'acme',
          queue: 'mail',
          type: 'send.welcome',
          payload,
          priority: 2,
          labels: { region: 'eu-west', tier: 'gold' },
          state: 'scheduled',
          stateReason: null,
          runAt: T0 + 60_000,
          expiresAt: T0 + 120_000,
          timeoutMs: 5000,
          maxAttempts: 7,
          attempt: 0,
          backoff: { type: 'exponential', delayMs: 250, maxDelayMs: 10_000, jitter: 0.1 },
          linkId: 'order-17',
          resubmittedFrom: full.resubmittedFrom,
          leaseToken: null,
          leaseExpiresAt: null,
          workerId: null,
          progress: null,
          condition: null,
          blockedAt: null,
          result: undefined,
          errors: [],
          createdAt: T0 - 5,
          updatedAt: T0 - 5,
          startedAt: null,
          finishedAt: null,
          templateId: 'welcome-mail',
          templateVersion: 3,
        });
        const b = await ctx.store.getJob(bare.id);
        expect(b).toMatchObject({ payload: 'just text', labels: {}, expiresAt: null, timeoutMs: null, resubmittedFrom: null, condition: null, blockedAt: null, templateId: null, templateVersion: null });
        expect(b!.backoff).toEqual({ type: 'custom', delaysMs: [10, 20] });
        expect(await ctx.store.getJob(randomUUID())).toBeUndefined();
      });
    });

    describe('transition', () => {
      it('refuses a job in another state with wrong_state and the actual state, changing nothing', async () => {
        const job = await insert(ctx.store);
        const before = await ctx.store.getJob(job.id);
        const [res] = await ctx.store.transition([{ id: job.id, from: ['running'], to: 'succeeded', patch: { result: 1 }, now: T0 + 1 }]);
        expect(res).toEqual({ ok: false, reason: 'wrong_state', state: 'ready' });
        expect(await ctx.store.getJob(job.id)).toEqual(before);
      });

      it('refuses a wrong lease token with lease_mismatch, changing nothing', async () => {
        const job = await running(ctx.store, 'token-a');
        const [res] = await ctx.store.transition([
          { id: job.id, from: ['running'], leaseToken: 'token-b', to: 'succeeded', patch: { result: 1 }, now: T0 + 1 },
        ]);
        expect(res).toEqual({ ok: false, reason: 'lease_mismatch', state: 'running' });
        expect(await ctx.store.getJob(job.id)).toEqual(job);
      });

      it('reports not_found for an unknown id', async () => {
        const [res] = await ctx.store.transition([{ id: randomUUID(), from: ['ready'], to: 'cancelled', patch: {}, now: T0 }]);
        expect(res).toEqual({ ok: false, reason: 'not_found' });
      });

      it('with several allowed from states, reports the one the job was in', async () => {
        const s = await insert(ctx.store, { state: 'scheduled' });
        const r = await insert(ctx.store, { state: 'retrying' });
        const d = await insert(ctx.store, { state: 'succeeded' });
        const results = await ctx.store.transition(
          [s, r, d].map((j) => ({ id: j.id, from: ['scheduled', 'retrying'] as const, to: 'ready' as const, patch: {}, now: T0 + 9 })),
        );
        expect(results.map((x) => (x.ok ? x.from : x.reason))).toEqual(['scheduled', 'retrying', 'wrong_state']);
        expect(results[2]).toEqual({ ok: false, reason: 'wrong_state', state: 'succeeded' });
        expect(await stateOf(ctx.store, s.id)).toBe('ready');
        expect(await stateOf(ctx.store, r.id)).toBe('ready');
        expect((await ctx.store.getJob(s.id))!.updatedAt).toBe(T0 + 9);
      });

      it('applies patch fields: progress, error history in order, runAt, attempt, result, cleared lease', async () => {
        const job = await running(ctx.store, 'tok-1');
        const go = async (req: Parameters<Store['transition']>[0][number]) => {
          const [res] = await ctx.store.transition([req]);
          if (!res!.ok) throw new Error(`transition refused: ${res!.reason}`);
          return res!.job;
        };
        const p = await go({ id: job.id, from: ['running'], leaseToken: 'tok-1', to: 'running', patch: { progress: { percent: 40, message: 'half' } }, now: T0 + 1 });
        expect(p.progress).toEqual({ percent: 40, message: 'half' });

        const e1: JobError = { message: 'boom', code: 'ECONNREFUSED', attempt: 1, at: T0 + 2 };
        const retrying = await go({
          id: job.id,
          from: ['running'],
          leaseToken: 'tok-1',
          to: 'retrying',
          patch: { error: e1, runAt: T0 + 5000, stateReason: 'ECONNREFUSED', leaseExpiresAt: null },
          now: T0 + 2,
        });
        expect(retrying).toMatchObject({ state: 'retrying', runAt: T0 + 5000, stateReason: 'ECONNREFUSED', leaseExpiresAt: null, errors: [e1] });

        await go({ id: job.id, from: ['retrying'], to: 'ready', patch: {}, now: T0 + 5000 });
        const { claimed } = await ctx.store.claimJobs([{ id: job.id, leaseToken: 'tok-2' }], 'w2', T0 + 40_000, T0 + 5001);
        expect(claimed[0]).toMatchObject({ attempt: 2, leaseToken: 'tok-2', workerId: 'w2', progress: null });

        const released = await go({ id: job.id, from: ['running'], leaseToken: 'tok-2', to: 'ready', patch: { attempt: 1, leaseToken: null, leaseExpiresAt: null }, now: T0 + 5002 });
        expect(released).toMatchObject({ attempt: 1, leaseToken: null, leaseExpiresAt: null });

        await ctx.store.claimJobs([{ id: job.id, leaseToken: 'tok-3' }], 'w3', T0 + 50_000, T0 + 5003);
        const e2: JobError = { message: 'still down', attempt: 2, at: T0 + 6000 };
        const failed = await go({ id: job.id, from: ['running'], leaseToken: 'tok-3', to: 'failed', patch: { error: e2, finishedAt: T0 + 6000, progress: null }, now: T0 + 6000 });
        expect(failed).toMatchObject({ state: 'failed', attempt: 2, finishedAt: T0 + 6000, progress: null, errors: [e1, e2] });
        expect(await ctx.store.getJob(job.id)).toEqual(failed);

        const other = await running(ctx.store, 'tok-x');
        const done = await go({ id: other.id, from: ['running'], leaseToken: 'tok-x', to: 'succeeded', patch: { result: { ok: [1, 2] }, finishedAt: T0 + 7 }, now: T0 + 7 });
        expect(done.result).toEqual({ ok: [1, 2] });
        expect((await ctx.store.getJob(other.id))!.result).toEqual({ ok: [1, 2] });
      });

      it('returns one result per request, in order, and applies only the ones that hold', async () => {
        const a = await insert(ctx.store);
        const b = await insert(ctx.store, { state: 'cancelled' });
        const results = await ctx.store.transition([
          { id: a.id, from: ['ready'], to: 'cancelled', patch: { stateReason: 'x', finishedAt: T0 + 1 }, now: T0 + 1 },
          { id: b.id, from: ['ready'], to: 'cancelled', patch: {}, now: T0 + 1 },
        ]);
        expect(results[0]).toMatchObject({ ok: true, from: 'ready', job: { id: a.id, state: 'cancelled', stateReason: 'x', finishedAt: T0 + 1 } });
        expect(results[1]).toEqual({ ok: false, reason: 'wrong_state', state: 'cancelled' });
      });
    });

    describe('completeJobs', () => {
      it('succeeds running jobs whose token matches and says why the others did not move', async () => {
        const a = await running(ctx.store, 'tok-a');
        const b = await running(ctx.store, 'tok-b');
        const c = await running(ctx.store, 'tok-c');
        const ready = await insert(ctx.store);
        const results = await ctx.store.completeJobs(
          [
            { id: a.id, leaseToken: 'tok-a', result: { sent: 3, to: ['x'] } },
            { id: b.id, leaseToken: 'stale', result: 'nope' },
            { id: ready.id, leaseToken: 'tok-a', result: 1 },
            { id: randomUUID(), leaseToken: 'tok-a', result: 1 },
            { id: c.id, leaseToken: 'tok-c', result: null },
          ],
          T0 + 50,
        );
        expect(results[0]!.ok).toBe(true);
        expect(results.slice(1, 4)).toEqual([
          { ok: false, reason: 'lease_mismatch', state: 'running' },
          { ok: false, reason: 'wrong_state', state: 'ready' },
          { ok: false, reason: 'not_found' },
        ]);
        expect(await ctx.store.getJob(a.id)).toMatchObject({ state: 'succeeded', result: { sent: 3, to: ['x'] }, finishedAt: T0 + 50, updatedAt: T0 + 50 });
        expect(await ctx.store.getJob(b.id)).toEqual(b);
        expect(await ctx.store.getJob(c.id)).toMatchObject({ state: 'succeeded', result: null });
        expect(await ctx.store.completeJobs([{ id: a.id, leaseToken: 'tok-a', result: 2 }], T0 + 60)).toEqual([
          { ok: false, reason: 'wrong_state', state: 'succeeded' },
        ]);
      });
    });

    describeStoreClaims(ctx);
    describeStoreQueries(ctx);
    describeStoreApi(ctx);
    describeStoreRecovery(ctx);
    describeStoreEvents(ctx);
    describeStoreDependencies(ctx);
    describeStoreDedup(ctx);
    describeStoreActivity(ctx);
    describeStoreStateLists(ctx);

    it('migrate twice is a no-op that keeps the data', async () => {
      const job = await insert(ctx.store, { payloadJson: '{"keep":true}' });
      await ctx.store.migrate();
      await ctx.store.migrate();
      expect((await ctx.store.getJob(job.id))!.payload).toEqual({ keep: true });
      await insert(ctx.store);
      expect((await ctx.store.countByState({})).ready).toBe(2);
    });
  });
}
