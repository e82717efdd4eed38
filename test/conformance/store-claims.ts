import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports/store.js';
import { T0, insert, running, stateOf } from './fixtures.js';

/** Claims and leases part of the Store conformance suite. */
export function describeStoreClaims(ctx: { readonly store: Store }): void {
  describe('claimJobs', () => {
    it('runs ready jobs under the given tokens, skips the rest, and expires ready jobs past expiresAt', async () => {
      const now = T0 + 10_000;
      const r1 = await insert(ctx.store);
      const r2 = await insert(ctx.store, { priority: 1 });
      const sched = await insert(ctx.store, { state: 'scheduled', runAt: T0 + 99_000 });
      const stale = await insert(ctx.store, { expiresAt: T0 + 5000 });
      const fresh = await insert(ctx.store, { expiresAt: T0 + 20_000 });
      const taken = await running(ctx.store, 'old-token');

      const res = await ctx.store.claimJobs(
        [r1, r2, sched, stale, fresh, taken].map((j, i) => ({ id: j.id, leaseToken: `tok-${i}` })),
        'worker-7',
        now + 30_000,
        now,
      );
      const byId = new Map(res.claimed.map((j) => [j.id, j]));
      expect([...byId.keys()].sort()).toEqual([r1.id, r2.id, fresh.id].sort());
      expect(byId.get(r2.id)).toMatchObject({
        state: 'running',
        attempt: 1,
        leaseToken: 'tok-1',
        leaseExpiresAt: now + 30_000,
        workerId: 'worker-7',
        startedAt: now,
      });
      expect(byId.get(fresh.id)!.leaseToken).toBe('tok-4');
      expect(await ctx.store.getJob(r1.id)).toEqual(byId.get(r1.id));

      expect(res.expired.map((j) => j.id)).toEqual([stale.id]);
      expect(res.expired[0]!.state).toBe('expired');
      expect(await stateOf(ctx.store, stale.id)).toBe('expired');

      expect(await ctx.store.getJob(sched.id)).toMatchObject({ state: 'scheduled', attempt: 0, leaseToken: null });
      expect(await ctx.store.getJob(taken.id)).toMatchObject({ leaseToken: 'old-token', attempt: 1, workerId: 'w1' });
    });
  });

  describe('leases', () => {
    it('extendLeases pushes held leases and returns the ids whose token no longer matches', async () => {
      const a = await running(ctx.store, 'tok-a', T0 + 1000);
      const b = await running(ctx.store, 'tok-b', T0 + 1000);
      const gone = randomUUID();
      const lost = await ctx.store.extendLeases(
        [
          { id: a.id, leaseToken: 'tok-a' },
          { id: b.id, leaseToken: 'not-b' },
          { id: gone, leaseToken: 'x' },
        ],
        T0 + 31_000,
        T0 + 500,
      );
      expect(lost.sort()).toEqual([b.id, gone].sort());
      expect((await ctx.store.getJob(a.id))!.leaseExpiresAt).toBe(T0 + 31_000);
      expect((await ctx.store.getJob(b.id))!.leaseExpiresAt).toBe(T0 + 1000);

      await ctx.store.transition([{ id: a.id, from: ['running'], leaseToken: 'tok-a', to: 'succeeded', patch: {}, now: T0 + 600 }]);
      expect(await ctx.store.extendLeases([{ id: a.id, leaseToken: 'tok-a' }], T0 + 60_000, T0 + 700)).toEqual([a.id]);
    });

    it('extendLeases refuses a lease that already ran out, so a late heartbeat cannot beat the reaper', async () => {
      const late = await running(ctx.store, 'tok', T0 + 1000);
      expect(await ctx.store.extendLeases([{ id: late.id, leaseToken: 'tok' }], T0 + 31_000, T0 + 1001)).toEqual([late.id]);
      expect((await ctx.store.getJob(late.id))!.leaseExpiresAt).toBe(T0 + 1000);
      expect((await ctx.store.findExpiredLeases(T0 + 1001, 10)).map((j) => j.id)).toEqual([late.id]);
    });

    it('findExpiredLeases returns running jobs whose lease ran out, up to the limit', async () => {
      const early = await running(ctx.store, 't1', T0 + 1000);
      const mid = await running(ctx.store, 't2', T0 + 2000);
      await running(ctx.store, 't3', T0 + 9000);
      await insert(ctx.store); // ready, no lease
      const done = await running(ctx.store, 't4', T0 + 1000); // finished, lease deadline left in place
      await ctx.store.transition([{ id: done.id, from: ['running'], leaseToken: 't4', to: 'succeeded', patch: {}, now: T0 + 10 }]);
      expect((await ctx.store.findExpiredLeases(T0 + 500, 10)).map((j) => j.id)).toEqual([]);
      expect((await ctx.store.findExpiredLeases(T0 + 1500, 10)).map((j) => j.id)).toEqual([early.id]);
      expect((await ctx.store.findExpiredLeases(T0 + 5000, 10)).map((j) => j.id).sort()).toEqual([early.id, mid.id].sort());
      expect(await ctx.store.findExpiredLeases(T0 + 5000, 1)).toHaveLength(1);
    });

    it('findExpired returns not-yet-started jobs past expiresAt, never running or finished ones', async () => {
      const due = T0 + 1000;
      const hits = [
        await insert(ctx.store, { state: 'ready', expiresAt: due }),
        await insert(ctx.store, { state: 'scheduled', runAt: T0 + 500, expiresAt: due }),
        await insert(ctx.store, { state: 'retrying', expiresAt: due }),
      ];
      await insert(ctx.store, { state: 'ready', expiresAt: T0 + 90_000 });
      await insert(ctx.store, { state: 'ready' });
      await insert(ctx.store, { state: 'succeeded', expiresAt: due });
      await running(ctx.store, 'tok', T0 + 60_000, { expiresAt: T0 + 100 });
      expect(await ctx.store.findExpired(T0 + 999, 10)).toEqual([]);
      const found = await ctx.store.findExpired(T0 + 2000, 10);
      expect(found.map((j) => j.id).sort()).toEqual(hits.map((j) => j.id).sort());
      expect(await ctx.store.findExpired(T0 + 2000, 2)).toHaveLength(2);
    });
  });
}
