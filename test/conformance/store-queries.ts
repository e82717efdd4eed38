import { describe, expect, it } from 'vitest';
import { toDispatchEntry, type DispatchEntry } from '../../src/domain/job.js';
import type { JobState } from '../../src/domain/states.js';
import type { JobFilter, NewJob, Store } from '../../src/ports/store.js';
import { ALL_STATES, T0, newJob } from './fixtures.js';

/** Read-side part of the Store conformance suite: listing, pagination, rebuild and counts. */
export function describeStoreQueries(ctx: { readonly store: Store }): void {
  /** Reads every page of a listing; returns the pages' ids. */
  async function pages(filter: JobFilter, limit: number): Promise<string[][]> {
    const out: string[][] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await ctx.store.listJobs(filter, limit, after);
      out.push(page.jobs.map((j) => j.id));
      if (page.nextCursor === null) return out;
      after = page.nextCursor;
    }
    throw new Error('listJobs never returned a last page');
  }

  describe('listJobs', () => {
    it('filters by queue, state, type, linkId, tenant and created range', async () => {
      const jobs: NewJob[] = [
        newJob({ queue: 'mail', type: 'send', tenant: 'a', linkId: 'L1', createdAt: T0 + 10 }),
        newJob({ queue: 'mail', type: 'bounce', tenant: 'b', linkId: 'L1', state: 'scheduled', runAt: T0 + 9e6, createdAt: T0 + 20 }),
        newJob({ queue: 'video', type: 'send', tenant: 'a', linkId: 'L2', state: 'failed', createdAt: T0 + 30 }),
        newJob({ queue: 'video', type: 'encode', tenant: 'b', linkId: 'L3', createdAt: T0 + 40 }),
      ];
      await ctx.store.insertJobs(jobs);
      const ids = async (f: JobFilter) => (await ctx.store.listJobs(f, 100)).jobs.map((j) => j.id).sort();
      const want = (...i: number[]) => i.map((k) => jobs[k]!.id).sort();

      expect(await ids({})).toEqual(want(0, 1, 2, 3));
      expect(await ids({ queue: 'mail' })).toEqual(want(0, 1));
      expect(await ids({ state: 'ready' })).toEqual(want(0, 3));
      expect(await ids({ state: 'running' })).toEqual([]);
      expect(await ids({ type: 'send' })).toEqual(want(0, 2));
      expect(await ids({ linkId: 'L1' })).toEqual(want(0, 1));
      expect(await ids({ tenant: 'b' })).toEqual(want(1, 3));
      expect(await ids({ createdAfter: T0 + 15, createdBefore: T0 + 35 })).toEqual(want(1, 2));
      expect(await ids({ createdAfter: T0 + 35 })).toEqual(want(3));
      expect(await ids({ createdBefore: T0 + 15 })).toEqual(want(0));
      expect(await ids({ tenant: 'a', queue: 'video', type: 'send', state: 'failed' })).toEqual(want(2));
      expect(await ids({ tenant: 'nobody' })).toEqual([]);
    });

    it('pages newest first without overlap or gaps, and later inserts do not shift the pages', async () => {
      const jobs = Array.from({ length: 25 }, (_, i) => newJob({ createdAt: T0 + i }));
      await ctx.store.insertJobs(jobs);
      const newestFirst = jobs.map((j) => j.id).reverse();

      const all = await pages({}, 10);
      expect(all.map((p) => p.length)).toEqual([10, 10, 5]);
      expect(all.flat()).toEqual(newestFirst);

      const first = await ctx.store.listJobs({}, 10);
      expect(first.jobs.map((j) => j.id)).toEqual(newestFirst.slice(0, 10));
      await ctx.store.insertJobs(Array.from({ length: 5 }, (_, i) => newJob({ createdAt: T0 + 100 + i })));
      const second = await ctx.store.listJobs({}, 10, first.nextCursor!);
      expect(second.jobs.map((j) => j.id)).toEqual(newestFirst.slice(10, 20));
      const third = await ctx.store.listJobs({}, 10, second.nextCursor!);
      expect(third.jobs.map((j) => j.id)).toEqual(newestFirst.slice(20));
      expect(third.nextCursor).toBeNull();
    });

    it('pages a filtered listing and ends with a null cursor when the page is exactly full', async () => {
      const jobs = Array.from({ length: 12 }, (_, i) => newJob({ queue: i % 2 === 0 ? 'even' : 'odd', createdAt: T0 + i }));
      await ctx.store.insertJobs(jobs);
      const even = jobs.filter((j) => j.queue === 'even').map((j) => j.id).reverse();
      const got = await pages({ queue: 'even' }, 3);
      expect(got).toEqual([even.slice(0, 3), even.slice(3, 6)]);
    });
  });

  describe('loadDispatchable and countByState', () => {
    it('loadDispatchable yields exactly the ready, scheduled and retrying jobs', async () => {
      const byState = new Map<JobState, NewJob>();
      for (const [i, state] of ALL_STATES.entries()) {
        byState.set(state, newJob({ state, priority: i + 1, queue: `q${i}`, tenant: `t${i}`, runAt: T0 + i * 1000 }));
      }
      await ctx.store.insertJobs([...byState.values()]);
      const seen: { entry: DispatchEntry; state: JobState }[] = [];
      for await (const item of ctx.store.loadDispatchable()) seen.push(item);

      const expected = (['ready', 'scheduled', 'retrying'] as const).map((state) => {
        const j = byState.get(state)!;
        return { state, entry: toDispatchEntry(j) };
      });
      const key = (x: { entry: DispatchEntry }) => x.entry.id;
      expect([...seen].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(expected.sort((a, b) => key(a).localeCompare(key(b))));
    });

    it('countByState counts every state, with zeros, filtered by tenant and queue', async () => {
      await ctx.store.insertJobs([
        newJob({ tenant: 'a', queue: 'q1' }),
        newJob({ tenant: 'a', queue: 'q1' }),
        newJob({ tenant: 'a', queue: 'q2', state: 'failed' }),
        newJob({ tenant: 'b', queue: 'q1', state: 'scheduled', runAt: T0 + 1 }),
      ]);
      const zeros = Object.fromEntries(ALL_STATES.map((s) => [s, 0]));
      expect(await ctx.store.countByState({})).toEqual({ ...zeros, ready: 2, failed: 1, scheduled: 1 });
      expect(await ctx.store.countByState({ tenant: 'a' })).toEqual({ ...zeros, ready: 2, failed: 1 });
      expect(await ctx.store.countByState({ queue: 'q1' })).toEqual({ ...zeros, ready: 2, scheduled: 1 });
      expect(await ctx.store.countByState({ tenant: 'b', queue: 'q2' })).toEqual(zeros);
    });
  });
}
