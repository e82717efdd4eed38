import { describe, expect, it } from 'vitest';
import { activityOf } from '../../src/domain/queue-activity.js';
import type { JobState } from '../../src/domain/states.js';
import type { NewJob, Store } from '../../src/ports/store.js';
import { T0, insert, newJob } from './fixtures.js';

const MIN = 60_000;

/** Queue activity (the dashboard's charts): finished jobs per queue, end state and slot; oldest ready job. */
export function describeStoreActivity(ctx: { readonly store: Store }): void {
  /** A job of `overrides` claimed, then finished in `state` at `at`, as the service does. */
  async function finished(state: Exclude<JobState, 'ready'>, at: number, overrides: Partial<NewJob> = {}): Promise<void> {
    const job = await insert(ctx.store, overrides);
    const token = `tok-${job.id}`;
    await ctx.store.claimJobs([{ id: job.id, leaseToken: token }], 'w1', at + MIN, T0);
    if (state === 'succeeded') {
      expect(await ctx.store.completeJobs([{ id: job.id, leaseToken: token, result: null }], at)).toEqual([{ ok: true }]);
      return;
    }
    const [res] = await ctx.store.transition([{ id: job.id, from: ['running'], leaseToken: token, to: state, patch: { finishedAt: at, leaseToken: null }, now: at }]);
    expect(res?.ok).toBe(true);
  }

  describe('queueActivity', () => {
    it('counts jobs finished in the window per queue, end state and slot, for one tenant or all', async () => {
      const since = T0 + 10 * MIN;
      await finished('succeeded', since - 1); // before the window
      await finished('succeeded', since);
      await finished('succeeded', since + 30_000);
      await finished('failed', since + MIN);
      await finished('cancelled', since + 2 * MIN + 5, { queue: 'video' });
      await finished('succeeded', since + 2 * MIN, { tenant: 't2' });
      await finished('succeeded', since, { queue: 'other' }); // a queue not asked for
      await insert(ctx.store); // ready, not finished

      const rows = await ctx.store.queueActivity({ queues: ['default', 'video'] }, since, MIN);
      const key = (r: { queue: string; state: string; slot: number; count: number }) => `${r.queue}/${r.state}/${Number(r.slot)}=${Number(r.count)}`;
      expect(rows.finished.map(key).sort()).toEqual(['default/failed/1=1', 'default/succeeded/0=2', 'default/succeeded/2=1', 'video/cancelled/2=1']);

      const t1 = await ctx.store.queueActivity({ tenant: 't1', queues: ['default', 'video'] }, since, MIN);
      expect(t1.finished.map(key).sort()).toEqual(['default/failed/1=1', 'default/succeeded/0=2', 'video/cancelled/2=1']);
      expect((await ctx.store.queueActivity({ tenant: 'nobody', queues: ['default'] }, since, MIN)).finished).toEqual([]);
      expect(await ctx.store.queueActivity({ queues: [] }, since, MIN)).toEqual({ finished: [], oldestReady: [] });

      const [activity] = activityOf(t1, ['default'], since, MIN, 3);
      expect(activity).toMatchObject({ totals: { succeeded: 2, failed: 1, cancelled: 0, expired: 0 }, failureRate: 1 / 3 });
      expect(activity!.series.map((s) => [s.at - since, s.succeeded, s.failed])).toEqual([
        [0, 2, 0],
        [MIN, 0, 1],
        [2 * MIN, 0, 0],
      ]);
    });

    it('gives the due time of each queue\'s ready job due first, per tenant', async () => {
      await ctx.store.insertJobs([
        newJob({ runAt: T0 + 500 }),
        newJob({ runAt: T0 + 100, tenant: 't2' }),
        newJob({ runAt: T0 + 300 }),
        newJob({ runAt: T0 + 50, state: 'scheduled' }), // not ready
        newJob({ runAt: T0 + 700, queue: 'video' }),
      ]);
      const oldest = async (tenant?: string) =>
        (await ctx.store.queueActivity(tenant ? { tenant, queues: ['default', 'video', 'none'] } : { queues: ['default', 'video', 'none'] }, T0, MIN)).oldestReady
          .map((r) => `${r.queue}@${Number(r.runAt) - T0}`)
          .sort();
      expect(await oldest()).toEqual(['default@100', 'video@700']);
      expect(await oldest('t1')).toEqual(['default@300', 'video@700']);
      expect(await oldest('t2')).toEqual(['default@100']);
    });
  });
}
