import { describe, expect, it } from 'vitest';
import { JOB_STATES, type JobState } from '../../src/domain/states.js';
import type { IdempotencyRecord, JobFilter, NewJob, QueueDepth, Store } from '../../src/ports/store.js';
import { T0, insert, newJob } from './fixtures.js';

/**
 * The API-facing part of the Store conformance suite: idempotency keys, queue pauses, counts per
 * queue, label and worker filters, readiness.
 */
export function describeStoreApi(ctx: { readonly store: Store }): void {
  const record = (overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord => ({
    tenant: 't1',
    key: 'key-1',
    requestHash: 'hash-1',
    status: 201,
    response: '{"ids":["a"],"note":"ü \\"quoted\\""}',
    createdAt: T0,
    ...overrides,
  });
  const ids = async (filter: JobFilter) => (await ctx.store.listJobs(filter, 100)).jobs.map((j) => j.id).sort();
  const idsOf = (...jobs: NewJob[]) => jobs.map((j) => j.id).sort();

  describe('idempotency keys', () => {
    it('records the key with the jobs; a taken key returns the earlier record and inserts none of the new jobs', async () => {
      const first = record();
      const a = newJob();
      const b = newJob();
      expect(await ctx.store.insertJobs([a, b], first)).toBeNull();
      expect(await ctx.store.getJob(a.id)).toBeDefined();
      expect(await ctx.store.getJob(b.id)).toBeDefined();
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toEqual(first);

      const c = newJob();
      const d = newJob();
      const retry = record({ requestHash: 'hash-2', status: 202, response: '{}', createdAt: T0 + 5 });
      expect(await ctx.store.insertJobs([c, d], retry)).toEqual(first);
      expect(await ctx.store.getJob(c.id)).toBeUndefined();
      expect(await ctx.store.getJob(d.id)).toBeUndefined();
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toEqual(first);
      expect((await ctx.store.countByState({})).ready).toBe(2);
    });

    it('scopes keys by tenant: another tenant with the same key inserts', async () => {
      const mine = record();
      const theirs = record({ tenant: 't2', requestHash: 'hash-t2', createdAt: T0 + 1 });
      const a = newJob();
      const b = newJob({ tenant: 't2' });
      expect(await ctx.store.insertJobs([a], mine)).toBeNull();
      expect(await ctx.store.insertJobs([b], theirs)).toBeNull();
      expect(await ctx.store.getJob(b.id)).toBeDefined();
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toEqual(mine);
      expect(await ctx.store.findIdempotency('t2', 'key-1')).toEqual(theirs);
      expect(await ctx.store.findIdempotency('t1', 'other-key')).toBeUndefined();
      expect(await ctx.store.findIdempotency('t3', 'key-1')).toBeUndefined();
    });

    it('keeps the key and the jobs in one transaction: a failed insert records no key', async () => {
      const existing = await insert(ctx.store);
      const a = newJob();
      await expect(ctx.store.insertJobs([a, { ...newJob(), id: existing.id }], record())).rejects.toThrow();
      expect(await ctx.store.getJob(a.id)).toBeUndefined();
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toBeUndefined();

      const b = newJob();
      expect(await ctx.store.insertJobs([b], record())).toBeNull();
      expect(await ctx.store.getJob(b.id)).toBeDefined();
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toEqual(record());
    });

    it('under concurrent inserts with the same key, exactly one inserts its jobs and the others get its record', async () => {
      const attempts = Array.from({ length: 10 }, (_, i) => ({
        job: newJob(),
        record: record({ requestHash: `hash-${i}`, response: `{"attempt":${i}}`, createdAt: T0 + i }),
      }));
      const results = await Promise.all(attempts.map((a) => ctx.store.insertJobs([a.job], a.record)));

      const winners = results.flatMap((r, i) => (r === null ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = attempts[winners[0]!]!;
      for (const [i, r] of results.entries()) if (i !== winners[0]) expect(r).toEqual(winner.record);
      expect(await ctx.store.findIdempotency('t1', 'key-1')).toEqual(winner.record);
      expect(await ids({})).toEqual([winner.job.id]);
    });

    it('prunes records created before the given time, and a pruned key can be taken again', async () => {
      await ctx.store.insertJobs([newJob()], record({ key: 'k1', createdAt: T0 }));
      await ctx.store.insertJobs([newJob()], record({ key: 'k2', createdAt: T0 + 10 }));
      await ctx.store.insertJobs([newJob({ tenant: 't2' })], record({ tenant: 't2', key: 'k1', createdAt: T0 + 20 }));

      expect(await ctx.store.pruneIdempotency(T0)).toBe(0);
      expect(await ctx.store.pruneIdempotency(T0 + 10)).toBe(1);
      expect(await ctx.store.findIdempotency('t1', 'k1')).toBeUndefined();
      expect(await ctx.store.findIdempotency('t1', 'k2')).toEqual(record({ key: 'k2', createdAt: T0 + 10 }));
      expect(await ctx.store.findIdempotency('t2', 'k1')).toEqual(record({ tenant: 't2', key: 'k1', createdAt: T0 + 20 }));
      expect(await ctx.store.pruneIdempotency(T0 + 10)).toBe(0);
      expect(await ctx.store.pruneIdempotency(T0 + 1000)).toBe(2);
      expect(await ctx.store.findIdempotency('t1', 'k2')).toBeUndefined();
      expect(await ctx.store.findIdempotency('t2', 'k1')).toBeUndefined();
      // Pruning forgets keys, never jobs.
      expect((await ctx.store.countByState({})).ready).toBe(3);

      const again = newJob();
      expect(await ctx.store.insertJobs([again], record({ key: 'k1', createdAt: T0 + 2000 }))).toBeNull();
      expect(await ctx.store.getJob(again.id)).toBeDefined();
    });
  });

  describe('queue pauses', () => {
    it('pauses and resumes queues, idempotently, and lists the paused ones in byte order', async () => {
      expect(await ctx.store.pausedQueues()).toEqual([]);
      const job = await insert(ctx.store, { queue: 'mail' });
      await ctx.store.setQueuePaused('mail', true, T0);
      await ctx.store.setQueuePaused('b-queue', true, T0 + 1);
      await ctx.store.setQueuePaused('Archive', true, T0 + 2);
      await ctx.store.setQueuePaused('mail', true, T0 + 3);
      expect(await ctx.store.pausedQueues()).toEqual(['Archive', 'b-queue', 'mail']);
      // A pause leaves the queue's jobs as they are.
      expect(await ctx.store.getJob(job.id)).toMatchObject({ state: 'ready', updatedAt: T0 });

      await ctx.store.setQueuePaused('b-queue', false, T0 + 4);
      await ctx.store.setQueuePaused('b-queue', false, T0 + 5);
      await ctx.store.setQueuePaused('never-paused', false, T0 + 6);
      expect(await ctx.store.pausedQueues()).toEqual(['Archive', 'mail']);

      await ctx.store.setQueuePaused('b-queue', true, T0 + 7);
      await ctx.store.setQueuePaused('mail', false, T0 + 8);
      expect(await ctx.store.pausedQueues()).toEqual(['Archive', 'b-queue']);
    });
  });

  describe('countByQueue', () => {
    const depth = (queue: string, counts: Partial<Record<JobState, number>> = {}): QueueDepth => ({
      queue,
      counts: { ...(Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>), ...counts },
    });

    it('counts jobs per queue and state, per tenant and overall, listing paused queues even when empty', async () => {
      await ctx.store.insertJobs([
        newJob({ tenant: 't1', queue: 'mail' }),
        newJob({ tenant: 't1', queue: 'mail' }),
        newJob({ tenant: 't1', queue: 'mail', state: 'failed' }),
        newJob({ tenant: 't1', queue: 'video', state: 'scheduled', runAt: T0 + 60_000 }),
        newJob({ tenant: 't2', queue: 'mail' }),
        newJob({ tenant: 't2', queue: 'reports', state: 'succeeded' }),
      ]);
      expect(await ctx.store.countByQueue({})).toEqual([
        depth('mail', { ready: 3, failed: 1 }),
        depth('reports', { succeeded: 1 }),
        depth('video', { scheduled: 1 }),
      ]);

      await ctx.store.setQueuePaused('archive', true, T0);
      await ctx.store.setQueuePaused('video', true, T0);
      await ctx.store.setQueuePaused('old', true, T0);
      await ctx.store.setQueuePaused('old', false, T0 + 1);

      expect(await ctx.store.countByQueue({})).toEqual([
        depth('archive'),
        depth('mail', { ready: 3, failed: 1 }),
        depth('reports', { succeeded: 1 }),
        depth('video', { scheduled: 1 }),
      ]);
      expect(await ctx.store.countByQueue({ tenant: 't1' })).toEqual([
        depth('archive'),
        depth('mail', { ready: 2, failed: 1 }),
        depth('video', { scheduled: 1 }),
      ]);
      // A pause is per queue, not per tenant: the paused queue shows for a tenant without jobs in it.
      expect(await ctx.store.countByQueue({ tenant: 't2' })).toEqual([
        depth('archive'),
        depth('mail', { ready: 1 }),
        depth('reports', { succeeded: 1 }),
        depth('video'),
      ]);
      expect(await ctx.store.countByQueue({ tenant: 'nobody' })).toEqual([depth('archive'), depth('video')]);
    });

    it('is empty for an empty store', async () => {
      expect(await ctx.store.countByQueue({})).toEqual([]);
    });
  });

  describe('listJobs by labels and worker', () => {
    it('filters by labels: every given label must match, names and values compared exactly', async () => {
      const tricky = 'a:b=c "quoted" \'single\' {"json":[1]} ü';
      const jobs = {
        euGold: newJob({ labels: { region: 'eu', tier: 'gold' } }),
        eu: newJob({ labels: { region: 'eu' }, queue: 'mail' }),
        usGold: newJob({ labels: { region: 'us', tier: 'gold' } }),
        k8s: newJob({ labels: { 'app.kubernetes.io:name': 'web', 'build_id-v2': '7', 'a.b': 'dot' } }),
        tricky: newJob({ labels: { query: tricky } }),
        prefix: newJob({ labels: { query: 'a:b=c' } }),
        nested: newJob({ labels: { 'region.sub': 'eu', a: 'b' } }),
        none: newJob(),
      };
      await ctx.store.insertJobs(Object.values(jobs));

      expect(await ids({ labels: { region: 'eu' } })).toEqual(idsOf(jobs.euGold, jobs.eu));
      expect(await ids({ labels: { tier: 'gold' } })).toEqual(idsOf(jobs.euGold, jobs.usGold));
      expect(await ids({ labels: { region: 'eu', tier: 'gold' } })).toEqual(idsOf(jobs.euGold));
      expect(await ids({ labels: { tier: 'gold', region: 'us' } })).toEqual(idsOf(jobs.usGold));
      expect(await ids({ labels: { region: 'us', tier: 'silver' } })).toEqual([]);
      expect(await ids({ labels: { region: 'eu', tier: 'gold', missing: 'x' } })).toEqual([]);
      expect(await ids({ labels: { region: 'EU' } })).toEqual([]);
      expect(await ids({ labels: { region: 'eu' }, queue: 'mail' })).toEqual(idsOf(jobs.eu));

      expect(await ids({ labels: { query: tricky } })).toEqual(idsOf(jobs.tricky));
      expect(await ids({ labels: { query: 'a:b=c' } })).toEqual(idsOf(jobs.prefix));

      // Names may hold '.', ':', '-' and '_'; a '.' is part of the name, not a path into the labels.
      expect(await ids({ labels: { 'app.kubernetes.io:name': 'web' } })).toEqual(idsOf(jobs.k8s));
      expect(await ids({ labels: { 'app.kubernetes.io:name': 'web', 'build_id-v2': '7' } })).toEqual(idsOf(jobs.k8s));
      expect(await ids({ labels: { 'a.b': 'dot' } })).toEqual(idsOf(jobs.k8s));
      expect(await ids({ labels: { 'region.sub': 'eu' } })).toEqual(idsOf(jobs.nested));
      expect(await ids({ labels: { 'app.kubernetes.io': 'web' } })).toEqual([]);

      expect(await ids({ labels: {} })).toEqual(idsOf(...Object.values(jobs)));

      const first = await ctx.store.listJobs({ labels: { region: 'eu' } }, 1);
      expect(first.jobs.map((j) => j.id)).toEqual([jobs.eu.id]);
      const second = await ctx.store.listJobs({ labels: { region: 'eu' } }, 1, first.nextCursor!);
      expect(second).toEqual({ jobs: [expect.objectContaining({ id: jobs.euGold.id })], nextCursor: null });
    });

    it('filters by workerId: the running jobs one worker claimed', async () => {
      const [a1, a2, b1, idle] = [newJob(), newJob(), newJob(), newJob()];
      await ctx.store.insertJobs([a1, a2, b1, idle]);
      await ctx.store.claimJobs([{ id: a1.id, leaseToken: 'a1' }, { id: a2.id, leaseToken: 'a2' }], 'worker-a', T0 + 30_000, T0);
      await ctx.store.claimJobs([{ id: b1.id, leaseToken: 'b1' }], 'worker-b', T0 + 30_000, T0);

      expect(await ids({ workerId: 'worker-a' })).toEqual(idsOf(a1, a2));
      expect(await ids({ workerId: 'worker-b' })).toEqual(idsOf(b1));
      expect(await ids({ workerId: 'worker-c' })).toEqual([]);

      await ctx.store.completeJobs([{ id: a1.id, leaseToken: 'a1', result: null }], T0 + 1);
      expect(await ids({ workerId: 'worker-a', state: 'running' })).toEqual(idsOf(a2));
      expect(await ids({ state: 'running' })).toEqual(idsOf(a2, b1));
    });

    it('counts running jobs per worker in one read: a worker whose jobs all finished is absent', async () => {
      expect(await ctx.store.runningByWorker()).toEqual([]);
      const [a1, a2, a3, b1, idle] = [newJob(), newJob(), newJob(), newJob(), newJob()];
      await ctx.store.insertJobs([a1, a2, a3, b1, idle]);
      await ctx.store.claimJobs([a1, a2, a3].map((j) => ({ id: j.id, leaseToken: j.id })), 'worker-a', T0 + 30_000, T0);
      await ctx.store.claimJobs([{ id: b1.id, leaseToken: 'b1' }], 'worker-b', T0 + 30_000, T0);
      const counts = async () => (await ctx.store.runningByWorker()).sort((x, y) => x.workerId.localeCompare(y.workerId));

      expect(await counts()).toEqual([{ workerId: 'worker-a', running: 3 }, { workerId: 'worker-b', running: 1 }]);
      await ctx.store.completeJobs([{ id: a1.id, leaseToken: a1.id, result: null }, { id: b1.id, leaseToken: 'b1', result: null }], T0 + 1);
      expect(await counts()).toEqual([{ workerId: 'worker-a', running: 2 }]);
    });
  });

  describe('ping', () => {
    it('resolves when the store can serve requests', async () => {
      await expect(ctx.store.ping()).resolves.toBeUndefined();
      await insert(ctx.store);
      await expect(ctx.store.ping()).resolves.toBeUndefined();
    });
  });
}
