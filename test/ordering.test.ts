import { describe, expect, it } from 'vitest';
import type { PriorityRange } from '../src/ports/dispatch.js';
import { describeOnManualDeployments, type ManualEngine } from './helpers/deployments.js';

describeOnManualDeployments({}, (open) => {
  let engine: ManualEngine | undefined;

  async function start() {
    engine = await open();
    const { service, clock, docket } = engine;
    const submit = async (inputs: object[]) => service.submitter.submit(inputs, { tenant: 't1' });
    const claim = async (max: number, range?: PriorityRange) =>
      service.claims.claim({ workerId: 'w1', queues: ['default'], max, ...(range ? { range } : {}) });
    const iso = (ms: number) => new Date(ms).toISOString();
    return { service, clock, docket, submit, claim, iso };
  }

  describe('claim order', () => {
    it('claims a priority-1 job ahead of 10,000 earlier priority-5 jobs', async () => {
      const { submit, claim, clock } = await start();
      const bulk = await submit(Array.from({ length: 10_000 }, (_, i) => ({ type: 'bulk', priority: 5, payload: { i } })));
      expect(bulk).toHaveLength(10_000);
      expect(await engine!.dispatch.readyCount('default')).toBe(10_000);

      // A later due time must not outweigh priority (the seed's priority * 1e6 + epochMs score did).
      clock.advance(3_600_000);
      const [urgent] = await submit([{ type: 'urgent', priority: 1 }]);

      const [first] = await claim(1);
      expect(first!.id).toBe(urgent!.id);
      expect(first!.priority).toBe(1);
      const next = await claim(3);
      expect(next.map((j) => j.id)).toEqual(bulk.slice(0, 3).map((j) => j.id));
    });

    it('an expired job at the head of the queue does not hide the live job behind it', async () => {
      const { submit, claim, clock, iso } = await start();
      const [stale] = await submit([{ type: 'stale', priority: 1, expiresAt: iso(clock.now() + 100) }]);
      const [live] = await submit([{ type: 'live', priority: 5 }]);
      clock.advance(100);
      expect((await claim(1)).map((j) => j.id)).toEqual([live!.id]);
      expect((await engine!.service.queries.get(stale!.id))!.state).toBe('expired');
    });

    it('within a priority, takes the earlier due time first, then submission order', async () => {
      const { submit, claim, clock, iso } = await start();
      const now = clock.now();
      await submit([{ type: 'a' }]);
      const [b] = await submit([{ type: 'b', runAt: iso(now - 5000) }, { type: 'c' }]);
      await submit([{ type: 'd', runAt: iso(now - 1000) }]);
      await submit([{ type: 'e' }]);
      await submit([{ type: 'low', priority: 6, runAt: iso(now - 86_400_000) }]);

      expect(b).toMatchObject({ state: 'ready', runAt: now - 5000 });
      expect((await claim(10)).map((j) => j.type)).toEqual(['b', 'd', 'a', 'c', 'e', 'low']);
    });

    it('keeps submission order for 1,000 jobs of one priority and one due time', async () => {
      const { submit, claim } = await start();
      const jobs = await submit(Array.from({ length: 1000 }, (_, i) => ({ type: 'seq', payload: { i } })));
      const got: number[] = [];
      for (let batch = await claim(7); batch.length > 0; batch = await claim(7)) {
        got.push(...batch.map((j) => (j.payload as { i: number }).i));
      }
      expect(got).toEqual(jobs.map((_, i) => i));
    });
  });

  describe('delayed jobs', () => {
    it('are not claimable until the clock reaches runAt and the promoter runs, then come in due order', async () => {
      const { submit, claim, clock, docket, iso } = await start();
      const t0 = clock.now();
      const [x] = await submit([{ type: 'x', delayMs: 2000 }]);
      const [y] = await submit([{ type: 'y', runAt: iso(t0 + 1000) }]);
      const [z] = await submit([{ type: 'z', delayMs: 1000 }]);
      const [w] = await submit([{ type: 'w', priority: 9 }]);
      expect([x!.state, y!.state, z!.state, w!.state]).toEqual(['scheduled', 'scheduled', 'scheduled', 'ready']);

      expect((await claim(10)).map((j) => j.id)).toEqual([w!.id]);

      clock.advance(999);
      expect(await docket.promoter.runOnce()).toBe(0);
      expect(await claim(10)).toEqual([]);

      clock.advance(1);
      expect(await claim(10)).toEqual([]); // due, but not promoted yet
      expect(await docket.promoter.runOnce()).toBe(2);
      expect((await engine!.service.queries.get(y!.id))!.state).toBe('ready');
      expect((await claim(10)).map((j) => j.id)).toEqual([y!.id, z!.id]);

      clock.advance(1000);
      expect(await docket.promoter.runOnce()).toBe(1);
      expect((await claim(10)).map((j) => j.id)).toEqual([x!.id]);
    });

    it('once promoted, a delayed urgent job goes ahead of waiting lower-priority work', async () => {
      const { submit, claim, clock, docket } = await start();
      const normal = await submit([{ type: 'n' }, { type: 'n' }]);
      const [urgent] = await submit([{ type: 'u', priority: 2, delayMs: 500 }]);
      clock.advance(500);
      await docket.promoter.runOnce();
      expect((await claim(3)).map((j) => j.id)).toEqual([urgent!.id, normal[0]!.id, normal[1]!.id]);
    });
  });

  describe('priority ranges', () => {
    it('a claim with range {min:1,max:3} takes only priorities 1 to 3, in order', async () => {
      const { submit, claim } = await start();
      await submit([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 2].map((priority) => ({ type: `p${priority}`, priority })));

      expect((await claim(10, { min: 1, max: 3 })).map((j) => j.priority)).toEqual([1, 2, 2, 3]);
      expect(await claim(10, { min: 1, max: 3 })).toEqual([]);
      expect((await claim(2, { min: 4, max: 7 })).map((j) => j.priority)).toEqual([4, 5]);
      expect((await claim(10, { min: 8, max: 10 })).map((j) => j.priority)).toEqual([8, 9, 10]);
      expect((await claim(10)).map((j) => j.priority)).toEqual([6, 7]);
      expect(await engine!.dispatch.readyCount('default')).toBe(0);
    });

    it('a waiting ranged claim sleeps while only other priorities are ready, and wakes for its own', async () => {
      const { submit, clock, service } = await start();
      await submit([{ type: 'low', priority: 9 }]);
      const dispatch = engine!.dispatch;
      const take = dispatch.take.bind(dispatch);
      const stop = new AbortController(); // ends a spinning claim, so a regression fails instead of hanging
      let takes = 0;
      dispatch.take = async (request) => {
        if (++takes > 50) stop.abort();
        return take(request);
      };
      let settled = false;
      const pending = service.claims
        .claim({ workerId: 'w1', queues: ['default'], max: 1, range: { min: 1, max: 3 }, waitMs: 30_000, signal: stop.signal })
        .finally(() => (settled = true));
      // Yields to I/O too: the Redis dispatch looks for work over the network before it sleeps.
      while (clock.pendingTimers() === 0 && !settled) await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(false); // waiting on a timer, not spinning on take()

      const [urgent] = await submit([{ type: 'urgent', priority: 2 }]);
      expect((await pending).map((j) => j.id)).toEqual([urgent!.id]);
      expect(takes).toBe(2);
    });
  });
});
