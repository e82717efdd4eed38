import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../../src/adapters/memory/memory-dispatch.js';
import { ValidationError } from '../../src/domain/errors.js';
import type { DispatchEntry } from '../../src/domain/job.js';
import type { LogEvent } from '../../src/ports/event-log.js';
import type { NewJob, Store } from '../../src/ports/store.js';
import { Jobs } from '../../src/services/jobs/index.js';
import { T0, insert, newJob, running, stateOf } from './fixtures.js';

/** Every event positioned so far (as store-events.ts reads them). */
async function all(store: Store): Promise<LogEvent[]> {
  while ((await store.events.position(1000)) > 0) {
    // PostgreSQL numbers committed rows here; SQLite numbered them as they were written
  }
  return store.events.read(0, 10_000);
}

/** Dependency events of one job, by type. */
async function dependencyEvents(store: Store, id: string): Promise<string[]> {
  return (await all(store)).filter((e) => e.topic === 'dependency-events' && e.key === id).map((e) => e.type);
}

/** A waiting job that depends on `on`. */
function dependent(on: string[], overrides: Partial<NewJob> = {}): NewJob {
  return newJob({ state: 'waiting', dependsOn: on, ...overrides });
}

/** Fails a running job for good (no attempts left). */
async function failFor(store: Store, id: string, token: string, now = T0 + 10) {
  const error = { message: 'boom', attempt: 1, at: now };
  const [res] = await store.transition([{ id, from: ['running'], leaseToken: token, to: 'failed', patch: { error, finishedAt: now, leaseToken: null }, now }]);
  expect(res!.ok).toBe(true);
}

/**
 * Dependencies between jobs (docs/dependencies.md): the store resolves dependents in the
 * transaction of the change that settles their last dependency, and tells its listeners.
 */
export function describeStoreDependencies(ctx: { readonly store: Store }): void {
  describe('dependencies', () => {
    const heard = (store: Store) => {
      const released: DispatchEntry[] = [];
      store.dependencies.onReleased((entries) => void released.push(...entries));
      return released;
    };

    it('releases a dependent when its last dependency succeeds, once, and tells the listeners', async () => {
      const a = await running(ctx.store, 'ta');
      const b = await running(ctx.store, 'tb');
      const d = dependent([a.id, b.id], { priority: 2, queue: 'etl' });
      await ctx.store.insertJobs([d]);
      const released = heard(ctx.store);

      expect(await ctx.store.completeJobs([{ id: a.id, leaseToken: 'ta', result: { rows: 10 } }], T0 + 5)).toEqual([{ ok: true }]);
      expect(await stateOf(ctx.store, d.id)).toBe('waiting');
      expect(released).toEqual([]);

      await ctx.store.completeJobs([{ id: b.id, leaseToken: 'tb', result: 'b' }], T0 + 6);
      expect(await ctx.store.getJob(d.id)).toMatchObject({ state: 'ready', stateReason: 'dependencies_done', updatedAt: T0 + 6 });
      expect(released).toEqual([{ id: d.id, queue: 'etl', tenant: 't1', priority: 2, dueAt: d.runAt, type: d.type }]); // type (and labels) for claim filters
      expect(await dependencyEvents(ctx.store, d.id)).toEqual(['waiting', 'released']);

      const deps = await ctx.store.dependencies.dependenciesOf(d.id);
      expect(deps!.policy).toBe('cancel');
      expect(deps!.dependencies.map((x) => [x.id, x.state, x.result])).toEqual([
        [a.id, 'succeeded', { rows: 10 }],
        [b.id, 'succeeded', 'b'],
      ]);
      expect(await ctx.store.dependencies.dependentsOf(a.id)).toEqual([{ id: d.id, state: 'ready' }]);
      expect(await ctx.store.dependencies.dependenciesOf(a.id)).toBeNull();
    });

    it('releases dependents of several jobs completed in one batch, each once', async () => {
      const a = await running(ctx.store, 'ta');
      const b = await running(ctx.store, 'tb');
      const d1 = dependent([a.id, b.id]);
      const d2 = dependent([b.id]);
      await ctx.store.insertJobs([d1, d2]);
      const released = heard(ctx.store);
      await ctx.store.completeJobs([{ id: a.id, leaseToken: 'ta', result: 1 }, { id: b.id, leaseToken: 'tb', result: 2 }], T0 + 5);
      expect(released.map((e) => e.id).sort()).toEqual([d1.id, d2.id].sort());
      expect(await stateOf(ctx.store, d1.id)).toBe('ready');
      expect(await dependencyEvents(ctx.store, d1.id)).toEqual(['waiting', 'released']);
    });

    it('cancels dependents transitively when a dependency fails (policy cancel), with upstream_failed events', async () => {
      const a = await running(ctx.store, 'ta');
      const b = dependent([a.id]);
      const c = dependent([b.id]);
      const e = dependent([c.id]);
      await ctx.store.insertJobs([b, c, e]);
      await failFor(ctx.store, a.id, 'ta');
      for (const j of [b, c, e]) {
        expect(await ctx.store.getJob(j.id)).toMatchObject({ state: 'cancelled', stateReason: 'upstream_failed', finishedAt: T0 + 10 });
        expect(await dependencyEvents(ctx.store, j.id)).toEqual(['waiting', 'upstream-failed']);
      }
    });

    it('counts a cancelled or expired dependency as failed', async () => {
      const a = await insert(ctx.store);
      const b = await insert(ctx.store, { expiresAt: T0 + 100 });
      const da = dependent([a.id]);
      const db = dependent([b.id]);
      await ctx.store.insertJobs([da, db]);
      await ctx.store.transition([{ id: a.id, from: ['ready'], to: 'cancelled', patch: { stateReason: 'cancelled_by_user', finishedAt: T0 + 1 }, now: T0 + 1 }]);
      expect(await stateOf(ctx.store, da.id)).toBe('cancelled');
      // A claim finds b past its expiry: it expires instead of running.
      const { expired } = await ctx.store.claimJobs([{ id: b.id, leaseToken: 'tb' }], 'w1', T0 + 30_000, T0 + 200);
      expect(expired.map((j) => j.id)).toEqual([b.id]);
      expect(await ctx.store.getJob(db.id)).toMatchObject({ state: 'cancelled', stateReason: 'upstream_failed' });
    });

    it('releases a dependent with policy continue as if the failed dependency had succeeded', async () => {
      const a = await running(ctx.store, 'ta');
      const ok = await running(ctx.store, 'tok');
      const d = dependent([a.id, ok.id], { onDependencyFailure: 'continue' });
      await ctx.store.insertJobs([d]);
      const released = heard(ctx.store);
      await failFor(ctx.store, a.id, 'ta');
      expect(await stateOf(ctx.store, d.id)).toBe('waiting'); // `ok` is still running
      await ctx.store.completeJobs([{ id: ok.id, leaseToken: 'tok', result: null }], T0 + 20);
      expect(await stateOf(ctx.store, d.id)).toBe('ready');
      expect(released.map((e) => e.id)).toEqual([d.id]);
      const deps = await ctx.store.dependencies.dependenciesOf(d.id);
      expect(deps!.policy).toBe('continue');
      expect(deps!.dependencies.find((x) => x.id === a.id)).toMatchObject({ state: 'failed', error: { message: 'boom' } });
      expect(deps!.dependencies.find((x) => x.id === ok.id)).toMatchObject({ state: 'succeeded', result: null, error: null });
    });

    it('releases a continue dependent behind a cancelled one (failure two levels up)', async () => {
      const a = await running(ctx.store, 'ta');
      const b = dependent([a.id]);
      const c = dependent([b.id], { onDependencyFailure: 'continue' });
      await ctx.store.insertJobs([b, c]);
      const released = heard(ctx.store);
      await failFor(ctx.store, a.id, 'ta');
      expect(await stateOf(ctx.store, b.id)).toBe('cancelled');
      expect(await stateOf(ctx.store, c.id)).toBe('ready');
      expect(released.map((e) => e.id)).toEqual([c.id]);
      expect(await dependencyEvents(ctx.store, c.id)).toEqual(['waiting', 'released']);
    });

    it('counts a dependency that already succeeded at submit as done, and one already failed as failed', async () => {
      const done = await insert(ctx.store, { state: 'succeeded' });
      const failed = await insert(ctx.store, { state: 'failed' });
      const ready = dependent([done.id]);
      const doomed = dependent([done.id, failed.id]);
      const goesOn = dependent([failed.id], { onDependencyFailure: 'continue' });
      const behind = dependent([doomed.id]); // a job of the same insert
      await ctx.store.insertJobs([ready, doomed, goesOn, behind]);
      expect(await stateOf(ctx.store, ready.id)).toBe('ready');
      expect(await stateOf(ctx.store, goesOn.id)).toBe('ready');
      expect(await ctx.store.getJob(doomed.id)).toMatchObject({ state: 'cancelled', stateReason: 'upstream_failed' });
      expect(await stateOf(ctx.store, behind.id)).toBe('cancelled');
      expect(await dependencyEvents(ctx.store, ready.id)).toEqual(['waiting', 'released']);
      expect(await dependencyEvents(ctx.store, behind.id)).toEqual(['waiting', 'upstream-failed']);
    });

    it('refuses an edge to a job of another tenant or no job, inserting nothing', async () => {
      const other = await insert(ctx.store, { tenant: 'other' });
      const a = dependent([other.id]);
      await expect(ctx.store.insertJobs([newJob(), a])).rejects.toThrow(/no job/);
      await expect(ctx.store.insertJobs([dependent(['no-such-job'])])).rejects.toThrow(/no job/);
      expect((await ctx.store.countByState({ tenant: 't1' })).ready + (await ctx.store.countByState({ tenant: 't1' })).waiting).toBe(0);
    });

    it('forgets a deleted dependent\'s edges; a deleted dependency counts as done', async () => {
      const a = await insert(ctx.store, { state: 'succeeded' });
      const b = await running(ctx.store, 'tb');
      const d = dependent([a.id, b.id]);
      await ctx.store.insertJobs([d]);
      await ctx.store.deleteJobs([a.id]);
      await ctx.store.completeJobs([{ id: b.id, leaseToken: 'tb', result: 1 }], T0 + 5);
      expect(await stateOf(ctx.store, d.id)).toBe('ready');
      expect((await ctx.store.dependencies.dependenciesOf(d.id))!.dependencies.find((x) => x.id === a.id)).toMatchObject({ state: null, type: null });
      await ctx.store.deleteJobs([d.id]);
      expect(await ctx.store.dependencies.dependentsOf(b.id)).toEqual([]);
    });

    describe('through the service', () => {
      const service = (store: Store) => {
        const clock = new ManualClock(T0);
        const dispatch = new MemoryDispatch(clock);
        return { service: new Jobs(store, dispatch, clock), dispatch, clock };
      };

      it('submits a DAG in one request: refs resolve to the new ids, roots ready, the rest waiting', async () => {
        const { service: s, dispatch } = service(ctx.store);
        const jobs = await s.submitter.submit(
          [
            { ref: 'extract', type: 'extract' },
            { ref: 'transform', type: 'transform', dependsOn: ['extract'] },
            { ref: 'audit', type: 'audit', dependsOn: ['extract'], onDependencyFailure: 'continue' },
            { type: 'load', dependsOn: ['transform', 'audit'] },
          ],
          { tenant: 't1' },
        );
        const [extract, transform, audit, load] = jobs;
        expect(jobs.map((j) => j.state)).toEqual(['ready', 'waiting', 'waiting', 'waiting']);
        expect(transform!.dependsOn).toEqual([extract!.id]);
        expect(load!.dependsOn).toEqual([transform!.id, audit!.id]);
        expect(audit!.onDependencyFailure).toBe('continue');
        expect(await dispatch.readyCount('default')).toBe(1);

        const [claimed] = await s.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
        expect(claimed!.id).toBe(extract!.id);
        await s.outcomes.complete(claimed!.id, claimed!.leaseToken!, { rows: 3 });
        // Released in the completion's transaction and pushed to the dispatch index at once.
        expect(await dispatch.readyCount('default')).toBe(2);
        expect(await stateOf(ctx.store, load!.id)).toBe('waiting');
      });

      it('rejects a cycle atomically, naming it; nothing is created', async () => {
        const { service: s } = service(ctx.store);
        const submit = s.submitter.submit(
          [
            { ref: 'a', type: 'x', dependsOn: ['c'] },
            { ref: 'b', type: 'x', dependsOn: ['a'] },
            { ref: 'c', type: 'x', dependsOn: ['b'] },
            { ref: 'free', type: 'x' },
          ],
          { tenant: 't1' },
        );
        const err = await submit.catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues).toEqual([{ path: '/0/dependsOn/0', message: 'dependency cycle: a → c → b → a' }]);
        expect(Object.values(await ctx.store.countByState({})).reduce((n, x) => n + x, 0)).toBe(0);
        const self = await s.submitter.submit([{ ref: 'me', type: 'x', dependsOn: ['me'] }], { tenant: 't1' }).catch((e: unknown) => e);
        expect((self as ValidationError).issues).toEqual([{ path: '/dependsOn/0', message: 'dependency cycle: me → me' }]);
      });

      it('names unknown and other tenants\' dependencies by path, creating nothing', async () => {
        const { service: s } = service(ctx.store);
        const [theirs] = await s.submitter.submit([{ type: 'x' }], { tenant: 'other' });
        const err = await s.submitter.submit([{ type: 'x' }, { type: 'y', dependsOn: ['nope', theirs!.id] }], { tenant: 't1' }).catch((e: unknown) => e);
        expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['/1/dependsOn/0', '/1/dependsOn/1']);
        expect((await ctx.store.countByState({ tenant: 't1' })).ready).toBe(0);
      });

      it('releases at once a job whose dependencies already succeeded at submit', async () => {
        const { service: s, dispatch } = service(ctx.store);
        const done = await insert(ctx.store, { state: 'succeeded' });
        const [job] = await s.submitter.submit([{ type: 'x', dependsOn: [done.id] }], { tenant: 't1' });
        expect(job).toMatchObject({ state: 'ready', dependsOn: [done.id] });
        expect(await dispatch.readyCount('default')).toBe(1);
      });
    });
  });
}
