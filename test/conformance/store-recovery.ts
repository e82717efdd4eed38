import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Job, JobError } from '../../src/domain/job.js';
import type { JobState } from '../../src/domain/states.js';
import type { ConditionRecord, JobFilter, JobPatch, NewJob, Store, TransitionRequest } from '../../src/ports/store.js';
import { T0, insert, newJob, running } from './fixtures.js';

/**
 * Recovery part of the Store conformance suite: recovery conditions, parked (blocked) jobs, dead
 * letters (requeue, error text and finish-time filters) and retention (findPrunable, deleteJobs).
 */
export function describeStoreRecovery(ctx: { readonly store: Store }): void {
  const ids = async (filter: JobFilter) => (await ctx.store.listJobs(filter, 100)).jobs.map((j) => j.id).sort();
  const idsOf = (...jobs: { id: string }[]) => jobs.map((j) => j.id).sort();

  /** One move that must apply; returns the job after it. */
  async function move(req: TransitionRequest): Promise<Job> {
    const [res] = await ctx.store.transition([req]);
    if (!res!.ok) throw new Error(`transition ${req.from.join('|')} -> ${req.to} refused: ${res!.reason}`);
    return res!.job;
  }

  /** A job claimed, then parked (running -> blocked) under `condition` at `at`. */
  async function parked(condition: string, overrides: Partial<NewJob> = {}, at = T0 + 100): Promise<Job> {
    const token = randomUUID();
    const job = await running(ctx.store, token, T0 + 30_000, overrides);
    return move({
      id: job.id,
      from: ['running'],
      leaseToken: token,
      to: 'blocked',
      patch: { condition, blockedAt: at, leaseToken: null, leaseExpiresAt: null, workerId: null },
      now: at,
    });
  }

  /** A job claimed, then finished in `state` at `at` (finishedAt set as the service does). */
  async function finished(state: JobState, at: number, overrides: Partial<NewJob> = {}, patch: JobPatch = {}): Promise<Job> {
    const token = randomUUID();
    const job = await running(ctx.store, token, T0 + 30_000, overrides);
    return move({ id: job.id, from: ['running'], leaseToken: token, to: state, patch: { finishedAt: at, leaseExpiresAt: null, ...patch }, now: at });
  }

  describe('recovery conditions', () => {
    it('recordConditionFailure creates an open condition, then counts failures, updating lastSeenAt and lastError', async () => {
      const first = await ctx.store.recordConditionFailure('service:payments-api', 'ECONNREFUSED 10.0.0.7:443', T0, T0 + 5000);
      const created: ConditionRecord = {
        key: 'service:payments-api',
        status: 'open',
        firstSeenAt: T0,
        lastSeenAt: T0,
        lastError: 'ECONNREFUSED 10.0.0.7:443',
        failures: 1,
        probeJobId: null,
        nextProbeAt: T0 + 5000,
        probeFailures: 0,
        releasingSince: null,
        released: 0,
        updatedAt: T0,
      };
      expect(first).toEqual(created);
      expect(await ctx.store.getCondition('service:payments-api')).toEqual(created);

      // A later failure: counted, with its time and message. The leader's fields, nextProbeAt and
      // updatedAt (the version saveCondition checks) stay as they were.
      const second = await ctx.store.recordConditionFailure('service:payments-api', 'HTTP 503 "unavailable"', T0 + 40, T0 + 99_999);
      const counted = { ...created, lastSeenAt: T0 + 40, lastError: 'HTTP 503 "unavailable"', failures: 2 };
      expect(second).toEqual(counted);
      expect(await ctx.store.getCondition('service:payments-api')).toEqual(counted);

      // A report with an older clock: counted, its message kept, but lastSeenAt does not go back.
      const late = await ctx.store.recordConditionFailure('service:payments-api', 'timeout', T0 + 10, T0);
      expect(late).toEqual({ ...counted, lastError: 'timeout', failures: 3 });

      expect(await ctx.store.getCondition('service:other')).toBeUndefined();
    });

    it('counts every one of concurrent first failures of a new key, in one record', async () => {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ctx.store.recordConditionFailure('db:orders', `error ${i}`, T0 + i, T0 + 1000)),
      );
      expect(results).toHaveLength(10);
      expect(new Set(results.map((r) => r.failures))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
      const conditions = await ctx.store.listConditions();
      expect(conditions).toHaveLength(1);
      expect(conditions[0]).toMatchObject({ key: 'db:orders', status: 'open', failures: 10, lastSeenAt: T0 + 9 });
      expect(conditions[0]!.lastError).toMatch(/^error \d$/);
    });

    it('saveCondition writes the recovery fields while updatedAt is the expected one; a stale save returns false and changes nothing', async () => {
      const read = await ctx.store.recordConditionFailure('service:mail', 'boom', T0, T0 + 5000);
      const probing: ConditionRecord = {
        ...read,
        status: 'probing',
        probeJobId: randomUUID(),
        nextProbeAt: T0 + 20_000,
        probeFailures: 2,
        updatedAt: T0 + 10,
      };
      expect(await ctx.store.saveCondition(probing, read.updatedAt)).toBe(true);
      expect(await ctx.store.getCondition('service:mail')).toEqual(probing);

      // A second leader still holding the first read loses: nothing of its record is written.
      const stale: ConditionRecord = { ...read, status: 'releasing', releasingSince: T0 + 11, released: 5, updatedAt: T0 + 11 };
      expect(await ctx.store.saveCondition(stale, read.updatedAt)).toBe(false);
      expect(await ctx.store.getCondition('service:mail')).toEqual(probing);

      const releasing: ConditionRecord = { ...probing, status: 'releasing', probeJobId: null, releasingSince: T0 + 12, released: 25, updatedAt: T0 + 12 };
      expect(await ctx.store.saveCondition(releasing, probing.updatedAt)).toBe(true);
      expect(await ctx.store.getCondition('service:mail')).toEqual(releasing);

      // The failure fields belong to recordConditionFailure: a save made from an older read keeps a
      // failure recorded meanwhile (the signal that a releasing condition must reopen).
      await ctx.store.recordConditionFailure('service:mail', 'boom again', T0 + 13, 0);
      const later = { ...releasing, released: 30, lastSeenAt: T0, lastError: 'old', failures: 1, updatedAt: T0 + 14 };
      expect(await ctx.store.saveCondition(later, releasing.updatedAt)).toBe(true);
      expect(await ctx.store.getCondition('service:mail')).toEqual({ ...later, lastSeenAt: T0 + 13, lastError: 'boom again', failures: 2 });

      // Saving never creates a condition.
      expect(await ctx.store.saveCondition({ ...releasing, key: 'service:gone' }, releasing.updatedAt)).toBe(false);
      expect(await ctx.store.getCondition('service:gone')).toBeUndefined();
    });

    it('listConditions lists every condition by key; deleteCondition removes one', async () => {
      for (const key of ['service:b', 'db:a', 'service:a']) await ctx.store.recordConditionFailure(key, 'x', T0, T0 + 1);
      expect((await ctx.store.listConditions()).map((c) => c.key)).toEqual(['db:a', 'service:a', 'service:b']);

      await ctx.store.deleteCondition('service:a');
      await ctx.store.deleteCondition('never-existed');
      expect((await ctx.store.listConditions()).map((c) => c.key)).toEqual(['db:a', 'service:b']);
      expect(await ctx.store.getCondition('service:a')).toBeUndefined();

      // A deleted key starts over.
      expect(await ctx.store.recordConditionFailure('service:a', 'again', T0 + 50, T0 + 60)).toMatchObject({ failures: 1, firstSeenAt: T0 + 50 });
    });

    it('is empty for an empty store', async () => {
      expect(await ctx.store.listConditions()).toEqual([]);
      expect(await ctx.store.parkedCounts()).toEqual([]);
      expect(await ctx.store.parkedScopes()).toEqual([]);
      expect(await ctx.store.listParked('service:any', 10)).toEqual([]);
    });
  });

  describe('parked jobs', () => {
    it('running -> blocked records the condition and blockedAt; blocked -> ready clears them', async () => {
      const token = 'tok-park';
      const job = await running(ctx.store, token);
      const error: JobError = { message: 'payments-api down', code: 'ECONNREFUSED', attempt: 1, at: T0 + 5 };
      const blocked = await move({
        id: job.id,
        from: ['running'],
        leaseToken: token,
        to: 'blocked',
        patch: { condition: 'service:payments-api', blockedAt: T0 + 5, error, stateReason: 'condition', leaseToken: null, leaseExpiresAt: null, workerId: null },
        now: T0 + 5,
      });
      expect(blocked).toMatchObject({
        state: 'blocked',
        condition: 'service:payments-api',
        blockedAt: T0 + 5,
        stateReason: 'condition',
        leaseToken: null,
        workerId: null,
        attempt: 1,
        errors: [error],
        updatedAt: T0 + 5,
      });
      expect(await ctx.store.getJob(job.id)).toEqual(blocked);
      expect(await ids({ condition: 'service:payments-api' })).toEqual([job.id]);
      expect(await ids({ state: 'blocked' })).toEqual([job.id]);

      // A patch without the fields leaves them as they are.
      const touched = await move({ id: job.id, from: ['blocked'], to: 'blocked', patch: { runAt: T0 + 9 }, now: T0 + 9 });
      expect(touched).toMatchObject({ condition: 'service:payments-api', blockedAt: T0 + 5, runAt: T0 + 9 });

      const released = await move({ id: job.id, from: ['blocked'], to: 'ready', patch: { condition: null, blockedAt: null, stateReason: null }, now: T0 + 10 });
      expect(released).toMatchObject({ state: 'ready', condition: null, blockedAt: null, stateReason: null, errors: [error] });
      expect(await ctx.store.getJob(job.id)).toEqual(released);
      expect(await ids({ condition: 'service:payments-api' })).toEqual([]);
      expect(await ctx.store.listParked('service:payments-api', 10)).toEqual([]);

      // Claimed again: running, under no condition.
      const { claimed } = await ctx.store.claimJobs([{ id: job.id, leaseToken: 'tok-2' }], 'w2', T0 + 60_000, T0 + 11);
      expect(claimed[0]).toMatchObject({ state: 'running', attempt: 2, condition: null, blockedAt: null });
      expect(await ctx.store.getJob(job.id)).toMatchObject({ state: 'running', condition: null, blockedAt: null });
    });

    it('blocked -> failed (abandoned) keeps the job out of the parked jobs', async () => {
      const job = await parked('service:x');
      const failed = await move({ id: job.id, from: ['blocked'], to: 'failed', patch: { stateReason: 'abandoned', finishedAt: T0 + 500 }, now: T0 + 500 });
      expect(failed).toMatchObject({ state: 'failed', condition: 'service:x', blockedAt: T0 + 100, finishedAt: T0 + 500 });
      expect(await ctx.store.listParked('service:x', 10)).toEqual([]);
      expect(await ctx.store.parkedCounts()).toEqual([]);
      // The condition filter of listJobs is on the column, whatever the state.
      expect(await ids({ condition: 'service:x' })).toEqual([job.id]);
      expect(await ids({ condition: 'service:x', state: 'blocked' })).toEqual([]);
    });

    it('parkedCounts counts blocked jobs per condition, queue and tenant', async () => {
      await parked('service:a', { queue: 'mail', tenant: 't1' });
      await parked('service:a', { queue: 'mail', tenant: 't1' });
      await parked('service:a', { queue: 'mail', tenant: 't2' });
      await parked('service:a', { queue: 'video', tenant: 't1' });
      await parked('db:orders', { queue: 'mail', tenant: 't1' });
      const releasedLater = await parked('db:orders', { queue: 'mail', tenant: 't1' });
      await move({ id: releasedLater.id, from: ['blocked'], to: 'ready', patch: { condition: null, blockedAt: null }, now: T0 + 200 });
      const abandoned = await parked('service:a', { queue: 'mail', tenant: 't1' });
      await move({ id: abandoned.id, from: ['blocked'], to: 'failed', patch: { finishedAt: T0 + 200 }, now: T0 + 200 });
      await insert(ctx.store, { queue: 'mail' });
      await running(ctx.store, 'busy');

      expect(await ctx.store.parkedCounts()).toEqual([
        { condition: 'db:orders', queue: 'mail', tenant: 't1', count: 1 },
        { condition: 'service:a', queue: 'mail', tenant: 't1', count: 2 },
        { condition: 'service:a', queue: 'mail', tenant: 't2', count: 1 },
        { condition: 'service:a', queue: 'video', tenant: 't1', count: 1 },
      ]);
    });

    it('a job released with its condition kept still names it when claimed (its gate lets it through)', async () => {
      const job = await parked('service:a');
      await move({ id: job.id, from: ['blocked'], to: 'ready', patch: { blockedAt: null, stateReason: 'probe' }, now: T0 + 200 });
      const { claimed } = await ctx.store.claimJobs([{ id: job.id, leaseToken: 'probe-tok' }], 'w', T0 + 60_000, T0 + 201);
      expect(claimed[0]).toMatchObject({ state: 'running', condition: 'service:a', blockedAt: null });
      expect(await ctx.store.getJob(job.id)).toMatchObject({ state: 'running', condition: 'service:a', blockedAt: null });
      const plain = await running(ctx.store, 'plain');
      expect(plain.condition).toBeNull();
    });

    it('parkedScopes lists each (condition, queue, type) of blocked jobs once', async () => {
      await parked('service:a', { queue: 'mail', type: 'send' });
      await parked('service:a', { queue: 'mail', type: 'send', tenant: 't2' });
      await parked('service:a', { queue: 'mail', type: 'bounce' });
      await parked('service:a', { queue: 'video', type: 'send' });
      await parked('db:orders', { queue: 'mail', type: 'send' });
      const released = await parked('db:other', { queue: 'mail', type: 'send' });
      await move({ id: released.id, from: ['blocked'], to: 'ready', patch: { blockedAt: null }, now: T0 + 200 });
      await insert(ctx.store, { queue: 'reports', type: 'build' });

      const key = (s: { condition: string; queue: string; type: string }) => `${s.condition}|${s.queue}|${s.type}`;
      expect((await ctx.store.parkedScopes()).map(key).sort()).toEqual(
        ['db:orders|mail|send', 'service:a|mail|bounce', 'service:a|mail|send', 'service:a|video|send'],
      );
    });

    it('listParked lists the blocked jobs of one condition by priority, then runAt, then submission, up to the limit', async () => {
      // Parked in an order unlike the expected one; ids follow creation order.
      const lowEarly = newJob({ priority: 9, runAt: T0 - 50 });
      const highLate = newJob({ priority: 1, runAt: T0 + 50 });
      const midSecond = newJob({ priority: 5, runAt: T0 + 10 });
      const midFirstA = newJob({ priority: 5, runAt: T0 });
      const midFirstB = newJob({ priority: 5, runAt: T0 });
      const highEarly = newJob({ priority: 1, runAt: T0 - 10 });
      const order = [midFirstB, lowEarly, midSecond, highLate, midFirstA, highEarly];
      for (const j of order) await parked('service:a', j);
      // Not listed: another condition, and jobs of this one no longer blocked.
      await parked('service:b', { priority: 1, runAt: T0 - 999 });
      const gone = await parked('service:a', { priority: 1, runAt: T0 - 999 });
      await move({ id: gone.id, from: ['blocked'], to: 'cancelled', patch: { finishedAt: T0 + 300 }, now: T0 + 300 });
      await running(ctx.store, 'busy', T0 + 30_000, { priority: 1 });

      const want = [highEarly, highLate, midFirstA, midFirstB, midSecond, lowEarly].map((j) => j.id);
      const listed = await ctx.store.listParked('service:a', 100);
      expect(listed.map((j) => j.id)).toEqual(want);
      expect(listed.every((j) => j.state === 'blocked' && j.condition === 'service:a' && j.blockedAt === T0 + 100)).toBe(true);
      expect(listed[0]).toEqual(await ctx.store.getJob(highEarly.id));
      expect((await ctx.store.listParked('service:a', 3)).map((j) => j.id)).toEqual(want.slice(0, 3));
      expect(await ctx.store.listParked('service:none', 10)).toEqual([]);
    });
  });

  describe('dead letters', () => {
    it('failed -> ready requeues a dead letter with a fresh attempt budget, keeping its error history', async () => {
      const error: JobError = { message: 'permanent: bad input', attempt: 1, at: T0 + 3 };
      const dead = await finished('failed', T0 + 3, {}, { error, stateReason: 'exhausted' });
      expect(dead).toMatchObject({ state: 'failed', attempt: 1, finishedAt: T0 + 3 });

      const [res] = await ctx.store.transition([
        { id: dead.id, from: ['failed'], to: 'ready', patch: { attempt: 0, finishedAt: null, stateReason: 'requeued', runAt: T0 + 50 }, now: T0 + 50 },
      ]);
      expect(res).toMatchObject({ ok: true, from: 'failed' });
      const requeued = await ctx.store.getJob(dead.id);
      expect(requeued).toMatchObject({ state: 'ready', attempt: 0, finishedAt: null, stateReason: 'requeued', runAt: T0 + 50, errors: [error], updatedAt: T0 + 50 });
      expect(res!.ok && res!.job).toEqual(requeued);

      const { claimed } = await ctx.store.claimJobs([{ id: dead.id, leaseToken: 'again' }], 'w9', T0 + 90_000, T0 + 60);
      expect(claimed[0]).toMatchObject({ attempt: 1, leaseToken: 'again' });
      // A second requeue of a job no longer failed is refused.
      expect(await ctx.store.transition([{ id: dead.id, from: ['failed'], to: 'ready', patch: { attempt: 0 }, now: T0 + 70 }])).toEqual([
        { ok: false, reason: 'wrong_state', state: 'running' },
      ]);
    });

    it('filters by errorText: a case-insensitive substring of any error message, with no wildcards', async () => {
      const err = (message: string, code?: string): JobError => ({ message, ...(code ? { code } : {}), attempt: 1, at: T0 });
      const jobs = {
        refused: await finished('failed', T0 + 1, {}, { error: err('Connection REFUSED by upstream', 'ECONNREFUSED') }),
        percent: await finished('failed', T0 + 2, {}, { error: err('quota at 100%_done') }),
        underscore: await finished('failed', T0 + 3, {}, { error: err('bad_value in field') }),
        quoted: await finished('failed', T0 + 4, {}, { error: err('path C:\\tmp "x" missing') }),
        unicode: await finished('failed', T0 + 5, {}, { error: err('Über-Fehler: ÄÖ') }),
        codeOnly: await finished('failed', T0 + 6, {}, { error: err('something else', 'refused_code') }),
        noErrors: await finished('cancelled', T0 + 7),
      };
      // The match may be in any error of the history, not only the last.
      const second = await running(ctx.store, 'tok-h');
      await move({ id: second.id, from: ['running'], leaseToken: 'tok-h', to: 'retrying', patch: { error: err('first try: refused'), runAt: T0 }, now: T0 + 8 });
      await move({ id: second.id, from: ['retrying'], to: 'ready', patch: {}, now: T0 + 9 });
      await ctx.store.claimJobs([{ id: second.id, leaseToken: 'tok-h2' }], 'w', T0 + 30_000, T0 + 10);
      await move({ id: second.id, from: ['running'], leaseToken: 'tok-h2', to: 'failed', patch: { error: err('second try: timeout'), finishedAt: T0 + 11 }, now: T0 + 11 });
      const history = (await ctx.store.getJob(second.id))!;
      expect(history.errors.map((e) => e.message)).toEqual(['first try: refused', 'second try: timeout']);

      expect(await ids({ errorText: 'refused' })).toEqual(idsOf(jobs.refused, history));
      expect(await ids({ errorText: 'REFUSED BY' })).toEqual(idsOf(jobs.refused));
      expect(await ids({ errorText: 'connection refused by upstream' })).toEqual(idsOf(jobs.refused));
      expect(await ids({ errorText: 'timeout' })).toEqual(idsOf(history));
      // '%' and '_' are plain characters, not patterns.
      expect(await ids({ errorText: '%' })).toEqual(idsOf(jobs.percent));
      expect(await ids({ errorText: '100%_' })).toEqual(idsOf(jobs.percent));
      expect(await ids({ errorText: '_' })).toEqual(idsOf(jobs.percent, jobs.underscore));
      expect(await ids({ errorText: 'bad_v' })).toEqual(idsOf(jobs.underscore));
      expect(await ids({ errorText: 'bad%' })).toEqual([]);
      expect(await ids({ errorText: 'at 1_0' })).toEqual([]);
      // Messages are compared as text, not as their JSON encoding.
      expect(await ids({ errorText: 'c:\\tmp "x"' })).toEqual(idsOf(jobs.quoted));
      expect(await ids({ errorText: '\\' })).toEqual(idsOf(jobs.quoted));
      // Letters beyond ASCII fold too.
      expect(await ids({ errorText: 'über-fehler: äö' })).toEqual(idsOf(jobs.unicode));
      // Only messages: neither codes nor the JSON keys match.
      expect(await ids({ errorText: 'refused_code' })).toEqual([]);
      expect(await ids({ errorText: 'message' })).toEqual([]);
      expect(await ids({ errorText: 'no such text' })).toEqual([]);

      // With other filters, and paginated.
      expect(await ids({ errorText: 'refused', state: 'failed', queue: 'default' })).toEqual(idsOf(jobs.refused, history));
      expect(await ids({ errorText: 'refused', state: 'cancelled' })).toEqual([]);
      const first = await ctx.store.listJobs({ errorText: 'REFUSED' }, 1);
      expect(first.jobs.map((j) => j.id)).toEqual([history.id]);
      const next = await ctx.store.listJobs({ errorText: 'REFUSED' }, 1, first.nextCursor!);
      expect(next).toEqual({ jobs: [await ctx.store.getJob(jobs.refused.id)], nextCursor: null });
      expect(jobs.noErrors.errors).toEqual([]);
    });

    it('filters by finish time: finishedAfter inclusive, finishedBefore exclusive, unfinished jobs never match', async () => {
      const a = await finished('failed', T0 + 10);
      const b = await finished('succeeded', T0 + 20);
      const c = await finished('cancelled', T0 + 30);
      await insert(ctx.store);
      await running(ctx.store, 'busy');
      await parked('service:x');

      expect(await ids({ finishedAfter: T0 + 20 })).toEqual(idsOf(b, c));
      expect(await ids({ finishedAfter: T0 + 21 })).toEqual(idsOf(c));
      expect(await ids({ finishedBefore: T0 + 20 })).toEqual(idsOf(a));
      expect(await ids({ finishedBefore: T0 + 31 })).toEqual(idsOf(a, b, c));
      expect(await ids({ finishedAfter: T0 + 10, finishedBefore: T0 + 30 })).toEqual(idsOf(a, b));
      expect(await ids({ finishedAfter: T0 + 10, finishedBefore: T0 + 30, state: 'failed' })).toEqual(idsOf(a));
      expect(await ids({ finishedAfter: T0 + 31 })).toEqual([]);
      expect(await ids({ finishedAfter: 0 })).toEqual(idsOf(a, b, c));
    });
  });

  describe('retention', () => {
    /** Jobs of queue `q` finished in `state` at the given times, in that order (ids ascending). */
    async function finishedAt(state: JobState, times: number[], queue = 'q'): Promise<string[]> {
      const out: string[] = [];
      for (const at of times) out.push((await finished(state, at, { queue })).id);
      return out;
    }

    it('findPrunable by age: jobs of one queue and state finished before the cutoff, oldest first, up to the limit', async () => {
      // Finished out of submission order: the result follows finish time.
      const [late, early, mid, newest] = await finishedAt('succeeded', [T0 + 30, T0 + 10, T0 + 20, T0 + 40]);
      await finishedAt('succeeded', [T0 + 1], 'other');
      await finishedAt('failed', [T0 + 1]);
      await insert(ctx.store, { queue: 'q' });
      await running(ctx.store, 'busy', T0 + 30_000, { queue: 'q' });

      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 30, null, 100)).toEqual([early, mid]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 31, null, 100)).toEqual([early, mid, late]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 99, null, 2)).toEqual([early, mid]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 10, null, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('q', 'failed', T0 + 99, null, 100)).toHaveLength(1);
      expect(await ctx.store.findPrunable('q', 'cancelled', T0 + 99, null, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('nowhere', 'succeeded', T0 + 99, null, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 41, null, 100)).toEqual([early, mid, late, newest]);
    });

    it('findPrunable by count: jobs beyond the newest `keep`, oldest first; equal finish times go by submission', async () => {
      const [a, b, c, d, e] = await finishedAt('failed', [T0 + 10, T0 + 20, T0 + 20, T0 + 20, T0 + 50]);
      await finishedAt('failed', [T0 + 1], 'other');
      await finishedAt('succeeded', [T0 + 1]);

      expect(await ctx.store.findPrunable('q', 'failed', null, 2, 100)).toEqual([a, b, c]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 1, 100)).toEqual([a, b, c, d]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 0, 100)).toEqual([a, b, c, d, e]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 4, 100)).toEqual([a]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 5, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 50, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('q', 'failed', null, 0, 2)).toEqual([a, b]);
    });

    it('findPrunable with both rules prunes what either selects; with neither, nothing', async () => {
      const [a, b, c, d, e] = await finishedAt('succeeded', [T0 + 10, T0 + 20, T0 + 30, T0 + 40, T0 + 50]);

      // Age selects a; count (keep 3) selects a, b: the union.
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 11, 3, 100)).toEqual([a, b]);
      // Age selects a..d; count (keep 3) selects a, b.
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 41, 3, 100)).toEqual([a, b, c, d]);
      // Age selects nothing; count (keep 1) selects a..d.
      expect(await ctx.store.findPrunable('q', 'succeeded', T0, 1, 100)).toEqual([a, b, c, d]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 41, 3, 3)).toEqual([a, b, c]);
      expect(await ctx.store.findPrunable('q', 'succeeded', T0, 10, 100)).toEqual([]);
      expect(await ctx.store.findPrunable('q', 'succeeded', null, null, 100)).toEqual([]);
      // Age selects a..e; count (keep 3) selects a, b: all five.
      expect(await ctx.store.findPrunable('q', 'succeeded', T0 + 51, 3, 100)).toEqual([a, b, c, d, e]);
    });

    it('deleteJobs deletes the given jobs in any state and returns how many it deleted', async () => {
      const ready = await insert(ctx.store);
      const busy = await running(ctx.store, 'busy');
      const done = await finished('succeeded', T0 + 5);
      const blocked = await parked('service:x');
      const kept = await insert(ctx.store);
      const keptDone = await finished('failed', T0 + 6);

      expect(await ctx.store.deleteJobs([])).toBe(0);
      expect(await ctx.store.deleteJobs([ready.id, busy.id, done.id, blocked.id, randomUUID(), done.id])).toBe(4);
      for (const j of [ready, busy, done, blocked]) expect(await ctx.store.getJob(j.id)).toBeUndefined();
      expect(await ctx.store.getJob(kept.id)).toBeDefined();
      expect(await ctx.store.getJob(keptDone.id)).toBeDefined();
      expect(await ctx.store.parkedCounts()).toEqual([]);
      expect(await ids({})).toEqual(idsOf(kept, keptDone));
      expect(await ctx.store.deleteJobs([ready.id])).toBe(0);

      // Pruning end to end: what findPrunable returns, deleteJobs removes.
      await finishedAt('succeeded', [T0 + 1, T0 + 2, T0 + 3]);
      const prunable = await ctx.store.findPrunable('q', 'succeeded', null, 1, 100);
      expect(await ctx.store.deleteJobs(prunable)).toBe(2);
      expect(await ctx.store.findPrunable('q', 'succeeded', null, 1, 100)).toEqual([]);
      expect((await ctx.store.countByState({ queue: 'q' })).succeeded).toBe(1);
    });
  });
}
