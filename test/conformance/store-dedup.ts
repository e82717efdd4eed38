import { describe, expect, it } from 'vitest';
import type { DedupKey, IdempotencyRecord, NewJob, Store } from '../../src/ports/store.js';
import { T0, newJob } from './fixtures.js';

const key = (k: string, expiresAt = T0 + 60_000): DedupKey => ({ key: k, expiresAt });

/** Submits one job under `k`; returns the id of the job that holds the key afterwards, and whether this one was inserted. */
async function submit(store: Store, k: DedupKey, overrides: Partial<NewJob> = {}): Promise<{ job: NewJob; holder: string; inserted: boolean }> {
  const job = newJob(overrides);
  const { existing } = await store.insertJobsDeduplicated([job], [k]);
  return { job, holder: existing[0]?.id ?? job.id, inserted: existing[0] === null };
}

/** Dedup keys (docs/jobs.md#deduplication): the store takes them in the transaction that inserts the jobs. */
export function describeStoreDedup(ctx: { readonly store: Store }): void {
  describe('dedup keys', () => {
    it('first wins: a second job with a held key is not inserted, and the holder comes back whole', async () => {
      const first = await submit(ctx.store, key('k1'), { payloadJson: '{"to":"a@x"}' });
      expect(first.inserted).toBe(true);
      const second = newJob();
      const { existing, earlier } = await ctx.store.insertJobsDeduplicated([second], [key('k1')]);
      expect(earlier).toBeNull();
      expect(existing[0]).toMatchObject({ id: first.job.id, state: 'ready', payload: { to: 'a@x' }, tenant: 't1' });
      expect(await ctx.store.getJob(second.id)).toBeUndefined();
      expect((await ctx.store.countByState({})).ready).toBe(1);
    });

    it('after the window a new job takes the key over, and holds it for its own window', async () => {
      const first = await submit(ctx.store, key('k', T0 + 1000));
      const later = await submit(ctx.store, key('k', T0 + 5000), { createdAt: T0 + 1000 }); // expiresAt is exclusive
      expect(later.inserted).toBe(true);
      expect(later.holder).not.toBe(first.job.id);
      const again = await submit(ctx.store, key('k', T0 + 9000), { createdAt: T0 + 4999 });
      expect(again).toMatchObject({ inserted: false, holder: later.job.id });
    });

    it('a job that failed, was cancelled, expired or was deleted frees its key; a succeeded one keeps it', async () => {
      const done = await submit(ctx.store, key('ok'));
      await ctx.store.transition([{ id: done.job.id, from: ['ready'], to: 'cancelled', patch: { finishedAt: T0 + 1 }, now: T0 + 1 }]);
      const retry = await submit(ctx.store, key('ok'), { createdAt: T0 + 2 });
      expect(retry.inserted).toBe(true);

      const gone = await submit(ctx.store, key('gone'));
      await ctx.store.deleteJobs([gone.job.id]);
      expect((await submit(ctx.store, key('gone'))).inserted).toBe(true);

      const failed = await submit(ctx.store, key('failed'), { state: 'failed' });
      expect((await submit(ctx.store, key('failed'))).inserted).toBe(true);

      const good = await submit(ctx.store, key('good'), { state: 'succeeded' });
      expect(await submit(ctx.store, key('good'))).toMatchObject({ inserted: false, holder: good.job.id });
      expect(failed.inserted).toBe(true);
    });

    it('different keys are independent, in one call as in several', async () => {
      const [a, b, c] = [newJob(), newJob(), newJob()];
      const { existing } = await ctx.store.insertJobsDeduplicated([a, b, c], [key('x'), null, key('y')]);
      expect(existing).toEqual([null, null, null]);
      const d = newJob();
      const e = newJob();
      const second = await ctx.store.insertJobsDeduplicated([d, e], [key('y'), key('z')]);
      expect(second.existing.map((j) => j?.id ?? null)).toEqual([c.id, null]);
      expect((await ctx.store.countByState({})).ready).toBe(4);
    });

    it('keys are per tenant: the same key in another tenant is another key', async () => {
      const acme = await submit(ctx.store, key('shared'), { tenant: 'acme' });
      const globex = await submit(ctx.store, key('shared'), { tenant: 'globex' });
      expect(acme.inserted && globex.inserted).toBe(true);
      expect(await submit(ctx.store, key('shared'), { tenant: 'acme' })).toMatchObject({ inserted: false, holder: acme.job.id });
    });

    it('with an idempotency key: stores the answer rendered from the outcome; the same key again writes nothing', async () => {
      await submit(ctx.store, key('held'));
      const record: IdempotencyRecord = { tenant: 't1', key: 'idem-1', requestHash: 'h', status: 0, response: '', createdAt: T0 };
      const render = (existing: readonly unknown[]) => ({ status: 207, response: JSON.stringify(existing.map((e) => e !== null)) });
      const [a, b] = [newJob(), newJob()];
      const first = await ctx.store.insertJobsDeduplicated([a, b], [key('held'), key('free')], record, render);
      expect(first.earlier).toBeNull();
      expect(await ctx.store.findIdempotency('t1', 'idem-1')).toMatchObject({ status: 207, response: '[true,false]', requestHash: 'h' });
      const c = newJob();
      const again = await ctx.store.insertJobsDeduplicated([c], [key('other')], record, render);
      expect(again.earlier).toMatchObject({ status: 207, response: '[true,false]' });
      expect(await ctx.store.getJob(c.id)).toBeUndefined();
      expect(await ctx.store.getJob(b.id)).toBeDefined();
    });

    it('50 concurrent submits with one key insert exactly one job, and all get its id', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => submit(ctx.store, key('race'))));
      expect(results.filter((r) => r.inserted)).toHaveLength(1);
      expect(new Set(results.map((r) => r.holder)).size).toBe(1);
      expect((await ctx.store.countByState({})).ready).toBe(1);
    });

    it('50 concurrent take-overs of an expired key insert exactly one job', async () => {
      const old = await submit(ctx.store, key('stale', T0 + 10));
      const at = { createdAt: T0 + 20 };
      const results = await Promise.all(Array.from({ length: 50 }, () => submit(ctx.store, key('stale', T0 + 60_000), at)));
      expect(results.filter((r) => r.inserted)).toHaveLength(1);
      const holders = new Set(results.map((r) => r.holder));
      expect(holders.size).toBe(1);
      expect(holders.has(old.job.id)).toBe(false);
      expect((await ctx.store.countByState({})).ready).toBe(2);
    });

    it('prunes keys whose window has ended', async () => {
      await submit(ctx.store, key('old', T0 + 10));
      await submit(ctx.store, key('new', T0 + 10_000));
      expect(await ctx.store.pruneDedupKeys(T0 + 10)).toBe(1);
      // The pruned key is free even though its job is still ready.
      expect((await submit(ctx.store, key('old', T0 + 500), { createdAt: T0 + 11 })).inserted).toBe(true);
      expect((await submit(ctx.store, key('new'), { createdAt: T0 + 11 })).inserted).toBe(false);
    });
  });
}
