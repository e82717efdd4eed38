// Dispatch repair's partial scan (services/maintenance/dispatch-repair.ts), on both deployments
// with a manual clock: jobs the dispatch index lost (a process died between taking entries and
// claiming or promoting them) are put back a slice of `scanPerRun` jobs per state per run, each
// run going on where the last stopped, until every one is back, in its one place, and claimable.
import { afterAll, describe, expect, it } from 'vitest';
import { DispatchRepair } from '../src/services/maintenance/dispatch-repair.js';
import { manualDeployments, type ManualEngine } from './helpers/deployments.js';

const GRACE_MS = 10_000;
const repairOf = (e: ManualEngine) => new DispatchRepair(e.service, e.store, e.dispatch, e.clock, { intervalMs: 1000, graceMs: GRACE_MS, scanPerRun: 3 }, (err) => {
  throw err; // the loop never runs here: runOnce() is called directly, and throws itself
});

for (const deployment of manualDeployments()) {
  describe(`dispatch repair, partial scans: ${deployment.name}`, () => {
    afterAll(() => deployment.cleanup());

    it('puts lost ready and delayed jobs back three per state per run, going on where it stopped, each once', async () => {
      const e = await deployment.open();
      try {
        await e.dispatch.markRebuilt('t0'); // the index is not empty-and-new: no full rebuild, scans
        const ready = await e.service.submitter.submit(Array.from({ length: 8 }, (_, i) => ({ type: 'work', payload: { i } })), { tenant: 't1' });
        const delayed = await e.service.submitter.submit(Array.from({ length: 4 }, (_, i) => ({ type: 'work', delayMs: 100, payload: { i } })), { tenant: 't1' });
        const ids = [...ready, ...delayed].map((j) => j.id);
        // Lost: taken from the index by a process that died before claiming or promoting them.
        expect(await e.dispatch.take({ queues: ['default'], max: 100 })).toHaveLength(8);
        expect(await e.dispatch.takeDue(e.clock.now() + 1000, 100)).toHaveLength(4);
        const placed = async () => (await e.dispatch.placesOf(ids)).filter((p) => p.length > 0).length;
        expect(await placed()).toBe(0);

        // Within the grace (claims in flight): nothing is put back, though every job was looked at.
        const early = repairOf(e);
        for (let run = 0; run < 4; run++) expect(await early.runOnce()).toBe(0);
        expect(await placed()).toBe(0);

        e.clock.advance(GRACE_MS + 101);
        const repair = repairOf(e);
        const perRun: number[] = [];
        for (let run = 0; run < 4; run++) perRun.push(await repair.runOnce());
        // ready 8 = 3 + 3 + 2, delayed 4 = 3 + 1; the fourth run starts the pages over and finds all.
        expect(perRun).toEqual([6, 4, 2, 0]);
        const places = await e.dispatch.placesOf(ids);
        expect(places).toEqual([...ready.map(() => ['ready']), ...delayed.map(() => ['delayed'])]);

        // Back where they belong: the ready ones claimable, the delayed ones promoted and claimable.
        expect(await e.docket.promoter.runOnce()).toBe(4);
        const claimed = await e.service.claims.claim({ workerId: 'w1', queues: ['default'], max: 100 });
        expect(claimed.map((j) => j.id).sort()).toEqual([...ids].sort());
      } finally {
        await e.close();
      }
    });
  });
}
