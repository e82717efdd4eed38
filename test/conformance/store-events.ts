import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../../src/ports/event-log.js';
import type { Store } from '../../src/ports/store.js';
import { T0, insert, newJob, running } from './fixtures.js';

/** Every event positioned so far (the leader's relay does this in a running engine). */
async function all(store: Store, after = 0): Promise<LogEvent[]> {
  while ((await store.events.position(1000)) > 0) {
    // PostgreSQL numbers committed rows here; SQLite numbered them as they were written
  }
  return store.events.read(after, 10_000);
}

const brief = (e: LogEvent) => `${e.topic}:${e.key.slice(-4)}:${e.type}`;

/** The event log: written by the store in the transaction of each change, read by position. */
export function describeStoreEvents(ctx: { readonly store: Store }): void {
  describe('event log', () => {
    it('records each change of a job, in order: submitted, started, succeeded', async () => {
      const job = await running(ctx.store, 'tok', T0 + 30_000, { tenant: 'acme', linkId: 'link "1"\\' });
      await ctx.store.completeJobs([{ id: job.id, leaseToken: 'tok', result: { ok: true } }], T0 + 50);
      const events = await all(ctx.store);
      expect(events.map((e) => e.type)).toEqual(['submitted', 'started', 'succeeded']);
      expect(events.every((e) => e.topic === 'job-events' && e.key === job.id && e.tenant === 'acme' && e.linkId === 'link "1"\\')).toBe(true);
      expect(events[1]!.data).toMatchObject({ jobId: job.id, queue: 'default', jobType: 'email', state: 'running', previousState: 'ready', attempt: 1, workerId: 'w1' });
      expect(events[2]!.data).toMatchObject({ state: 'succeeded', previousState: 'running' });
      expect(events[2]!.at).toBe(T0 + 50);
      const positions = events.map((e) => e.pos);
      expect(positions).toEqual(positions.map((_, i) => positions[0]! + i)); // gap-free
    });

    it("gives each job of a batch its own queue, type, priority, max attempts and link id", async () => {
      // Batches alike but for one field each, and one where all differ: each submitted, claimed and completed together.
      const batches = [
        [newJob(), newJob()],
        [newJob(), newJob({ linkId: 'order-9' })],
        [newJob(), newJob({ type: 'sms' })],
        [newJob(), newJob({ queue: 'mail' })],
        [newJob(), newJob({ priority: 2 })],
        [newJob(), newJob({ maxAttempts: 7 })],
        [newJob({ queue: 'mail', type: 'sms', priority: 2, maxAttempts: 7 }), newJob(), newJob({ linkId: 'order-9' })],
      ];
      for (const batch of batches) {
        await ctx.store.insertJobs(batch);
        const { claimed } = await ctx.store.claimJobs(batch.map((j) => ({ id: j.id, leaseToken: `tok-${j.id}` })), 'w1', T0 + 30_000, T0);
        expect(claimed).toHaveLength(batch.length);
        await ctx.store.completeJobs(batch.map((j) => ({ id: j.id, leaseToken: `tok-${j.id}`, result: undefined })), T0 + 50);
      }
      const jobs = batches.flat();
      const events = await all(ctx.store);
      expect(events).toHaveLength(3 * jobs.length);
      for (const j of jobs) {
        const mine = events.filter((e) => e.key === j.id);
        expect(mine.map((e) => e.type), j.id).toEqual(['submitted', 'started', 'succeeded']);
        for (const e of mine) {
          expect(e.linkId, `${e.type} ${j.id}`).toBe(j.linkId);
          expect(e.data, `${e.type} ${j.id}`).toMatchObject({ jobId: j.id, queue: j.queue, jobType: j.type, priority: j.priority, maxAttempts: j.maxAttempts });
        }
      }
    });

    it('names retries, failures and parking, with the error message', async () => {
      const job = await running(ctx.store, 'tok');
      const error = { message: 'smtp said "no"\n\tat \\mail ✉', attempt: 1, at: T0 + 5 };
      await ctx.store.transition([{ id: job.id, from: ['running'], leaseToken: 'tok', to: 'retrying', patch: { error, runAt: T0 + 1000, leaseToken: null }, now: T0 + 5 }]);
      const events = await all(ctx.store);
      expect(events.at(-1)).toMatchObject({ type: 'retrying', data: { state: 'retrying', previousState: 'running', error: error.message, runAt: T0 + 1000 } });
    });

    it('records a delayed job as submitted then scheduled, and progress while running', async () => {
      const later = await insert(ctx.store, { state: 'scheduled', runAt: T0 + 60_000 });
      const job = await running(ctx.store, 'tok');
      await ctx.store.transition([{ id: job.id, from: ['running'], leaseToken: 'tok', to: 'running', patch: { progress: { percent: 40, message: 'half' } }, now: T0 + 7 }]);
      const events = await all(ctx.store);
      expect(events.map(brief)).toEqual([
        `job-events:${later.id.slice(-4)}:submitted`,
        `job-events:${later.id.slice(-4)}:scheduled`,
        `job-events:${job.id.slice(-4)}:submitted`,
        `job-events:${job.id.slice(-4)}:started`,
        `job-events:${job.id.slice(-4)}:progress`,
      ]);
      expect(events.at(-1)!.data).toMatchObject({ state: 'running', progress: { percent: 40, message: 'half' } });
    });

    it('writes no event for a lease extension (heartbeats are not changes of state)', async () => {
      const job = await running(ctx.store, 'tok');
      const before = (await all(ctx.store)).length;
      await ctx.store.extendLeases([{ id: job.id, leaseToken: 'tok' }], T0 + 90_000, T0 + 10);
      expect((await all(ctx.store)).length).toBe(before);
    });

    it('records dependency events: waiting, then released', async () => {
      const job = await insert(ctx.store, { state: 'waiting' });
      await ctx.store.transition([{ id: job.id, from: ['waiting'], to: 'ready', patch: {}, now: T0 + 3 }]);
      const deps = (await all(ctx.store)).filter((e) => e.topic === 'dependency-events');
      expect(deps.map((e) => e.type)).toEqual(['waiting', 'released']);
    });

    it('gives every job and dependency event the same data fields (docs/events.md)', async () => {
      await insert(ctx.store, { state: 'scheduled', runAt: T0 + 60_000 });
      const job = await insert(ctx.store, { state: 'waiting' });
      await ctx.store.transition([{ id: job.id, from: ['waiting'], to: 'ready', patch: {}, now: T0 + 3 }]);
      const fields = ['attempt', 'condition', 'error', 'jobId', 'jobType', 'maxAttempts', 'previousState', 'priority', 'progress', 'queue', 'reason', 'runAt', 'state', 'workerId'];
      const events = await all(ctx.store);
      expect(events.map((e) => `${e.topic}:${e.type}`)).toEqual(['job-events:submitted', 'job-events:scheduled', 'job-events:submitted', 'dependency-events:waiting', 'job-events:ready', 'dependency-events:released']);
      for (const e of events) expect(Object.keys(e.data).sort(), `${e.topic} ${e.type}`).toEqual(fields);
    });

    it('writes nothing when a change does not apply (a guarded write that missed)', async () => {
      const job = await running(ctx.store, 'tok');
      const before = (await all(ctx.store)).length;
      await ctx.store.completeJobs([{ id: job.id, leaseToken: 'someone-else', result: undefined }], T0 + 9);
      expect((await all(ctx.store)).length).toBe(before);
    });

    it('appends other events, reads after a position, filters by tenant and topic', async () => {
      await ctx.store.events.append([
        { topic: 'worker-events', key: 'w-1', tenant: 'acme', type: 'registered', at: T0, data: { workerId: 'w-1' } },
        { topic: 'worker-events', key: 'w-2', tenant: 'other', type: 'registered', at: T0, data: { workerId: 'w-2' } },
      ]);
      await insert(ctx.store, { tenant: 'acme' });
      const events = await all(ctx.store);
      expect(events.map((e) => e.type)).toEqual(['registered', 'registered', 'submitted']);
      expect(events[0]).toMatchObject({ topic: 'worker-events', key: 'w-1', linkId: null, data: { workerId: 'w-1' } });
      expect((await ctx.store.events.read(events[0]!.pos, 100)).length).toBe(2);
      expect((await ctx.store.events.read(0, 100, { tenant: 'acme' })).map((e) => e.type)).toEqual(['registered', 'submitted']);
      expect((await ctx.store.events.read(0, 100, { topics: ['job-events'] })).map((e) => e.type)).toEqual(['submitted']);
      expect(await ctx.store.events.read(0, 1)).toHaveLength(1);
      expect(await ctx.store.events.lastPosition()).toBe(events.at(-1)!.pos);
    });

    it('keeps cursors, and prunes only what is old enough and passed', async () => {
      expect(await ctx.store.events.cursor('bus')).toBeNull();
      for (const i of [1, 2, 3, 4]) await ctx.store.events.append([{ topic: 'worker-events', key: `w${i}`, tenant: 't', type: 'registered', at: T0 + i, data: {} }]);
      const events = await all(ctx.store);
      await ctx.store.events.setCursor('bus', events[1]!.pos);
      expect(await ctx.store.events.cursor('bus')).toBe(events[1]!.pos);
      // Older than T0+4 and at or below the cursor: events 1 and 2 (3 is not passed yet).
      expect(await ctx.store.events.prune(T0 + 4, events[1]!.pos, 100)).toBe(2);
      expect((await ctx.store.events.read(0, 100)).map((e) => e.key)).toEqual(['w3', 'w4']);
      // Positions are never reused, whatever was pruned (a store may keep the newest to ensure it).
      await ctx.store.events.prune(T0 + 100, events[3]!.pos, 100);
      expect((await ctx.store.events.read(0, 100)).map((e) => e.key)).not.toContain('w3');
      await ctx.store.events.append([{ topic: 'worker-events', key: 'w5', tenant: 't', type: 'registered', at: T0, data: {} }]);
      const next = (await all(ctx.store)).find((e) => e.key === 'w5');
      expect(next!.pos).toBe(events[3]!.pos + 1);
    });
  });
}
