// The recovery loop's less travelled paths (services/maintenance/recovery-loop.ts), on both
// deployments with a manual clock: a probe job that vanishes before it tells anything (deleted
// under the loop, as retention or a purge does), and jobs parked past the policy's maxParkSeconds.
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigFile } from '../src/config/index.js';
import type { Job } from '../src/domain/job.js';
import type { RecoveryEvent } from '../src/services/recovery-events.js';
import { manualDeployments, type ManualEngine } from './helpers/deployments.js';

/** Probed every 10 s, parked jobs kept 10 min; the other never probed within a test, parked jobs kept 60 s. */
const PROBED = 'service:ledger';
const KEPT_60S = 'db:reports';
const RULES = parseConfigFile({
  recovery: {
    policies: [
      { conditions: 'service:*', probeEverySeconds: 10, probeBackoff: 1, maxProbeEverySeconds: 10, maxParkSeconds: 600 },
      { conditions: 'db:*', probeEverySeconds: 3600, probeBackoff: 1, maxProbeEverySeconds: 3600, maxParkSeconds: 60 },
    ],
  },
});

/**
 * Submits `n` jobs of type `condition` and claims them: those claimed fail under the condition
 * (parked), those the condition's open gate holds back are parked by the claim. n parked jobs.
 */
async function park(e: ManualEngine, condition: string, n: number): Promise<Job[]> {
  const submitted = await e.service.submitter.submit(Array.from({ length: n }, (_, i) => ({ type: condition, payload: { i } })), { tenant: 't1' });
  const claimed = await e.service.claims.claim({ workerId: 'w1', queues: ['default'], max: n });
  for (const j of claimed) expect(await e.service.outcomes.fail(j.id, j.leaseToken!, { message: 'down', condition })).toMatchObject({ ok: true });
  const parked = (await e.store.listParked(condition, 100)).map((j) => j.id);
  expect(parked).toEqual(expect.arrayContaining(submitted.map((j) => j.id)));
  return submitted;
}

for (const deployment of manualDeployments({ rules: RULES })) {
  describe(`recovery loop faults: ${deployment.name}`, () => {
    afterAll(() => deployment.cleanup());

    const open = async () => {
      const e = await deployment.open();
      const events: RecoveryEvent[] = [];
      e.service.parking.events.on((ev) => events.push(ev));
      return { e, events };
    };

    it('a probe job deleted before it finished: the condition goes back to open and the next run probes another parked job', async () => {
      const { e, events } = await open();
      try {
        const jobs = await park(e, PROBED, 3);
        e.clock.advance(10_000);
        await e.docket.recovery.runOnce();
        const first = await e.store.getCondition(PROBED);
        expect(first).toMatchObject({ status: 'probing' });
        const probeId = first!.probeJobId!;
        expect(jobs.map((j) => j.id)).toContain(probeId);
        expect(events.filter((ev) => ev.type === 'probe')).toEqual([{ type: 'probe', condition: PROBED, jobId: probeId, at: e.clock.now() }]);

        // The probe vanishes: cancelled and purged (a finished job can be) before it ran.
        expect(await e.service.cancels.cancel(probeId)).toMatchObject({ ok: true });
        expect(await e.service.deadLetters.purge([probeId])).toBe(1);
        expect(await e.store.getJob(probeId)).toBeUndefined();

        await e.docket.recovery.runOnce();
        expect(await e.store.getCondition(PROBED)).toMatchObject({ status: 'open', probeJobId: null, nextProbeAt: e.clock.now() });
        await e.docket.recovery.runOnce();
        const second = await e.store.getCondition(PROBED);
        expect(second).toMatchObject({ status: 'probing' });
        expect(second!.probeJobId).not.toBe(probeId);
        expect(await e.store.getJob(second!.probeJobId!)).toMatchObject({ state: 'ready', stateReason: 'probe' });
        expect(events.filter((ev) => ev.type === 'probe').map((ev) => (ev as { jobId: string }).jobId)).toEqual([probeId, second!.probeJobId]);
        expect((await e.store.listParked(PROBED, 100)).length).toBe(1);
      } finally {
        await e.close();
      }
    });

    it('jobs parked past maxParkSeconds fail, those parked later stay, and the condition closes when none is left', async () => {
      const { e, events } = await open();
      try {
        const t0 = e.clock.now();
        const early = await park(e, KEPT_60S, 2);
        e.clock.advance(30_000);
        const late = await park(e, KEPT_60S, 1); // held back by the open gate
        const parkedIds = async () => (await e.store.listParked(KEPT_60S, 100)).map((j) => j.id).sort();

        // Just short of the limit: nothing is given up (the positive marker: the loop ran and the condition is open).
        e.clock.advance(30_000 - 1);
        await e.docket.recovery.runOnce();
        expect(await e.store.getCondition(KEPT_60S)).toMatchObject({ status: 'open' });
        expect(events.filter((ev) => ev.type === 'exhausted')).toEqual([]);
        expect(await parkedIds()).toEqual([...early, ...late].map((j) => j.id).sort());

        // At the limit: the two parked at t0 fail, with the reason; the later one stays.
        e.clock.advance(1);
        await e.docket.recovery.runOnce();
        for (const j of early) {
          const got = (await e.store.getJob(j.id))!;
          expect(got).toMatchObject({ state: 'failed', stateReason: `condition:${KEPT_60S}`, finishedAt: t0 + 60_000 });
          expect(got.errors.at(-1)).toMatchObject({ code: 'condition_abandoned', message: `parked under condition ${KEPT_60S} for longer than 60 s` });
        }
        expect(events.filter((ev) => ev.type === 'exhausted')).toEqual([{ type: 'exhausted', condition: KEPT_60S, jobs: 2, at: t0 + 60_000 }]);
        expect(await parkedIds()).toEqual([late[0]!.id]);

        // 60 s after the late one parked, it fails too; with none left the condition closes.
        e.clock.advance(30_000);
        await e.docket.recovery.runOnce();
        expect(await e.store.getJob(late[0]!.id)).toMatchObject({ state: 'failed', finishedAt: t0 + 90_000 });
        expect(await parkedIds()).toEqual([]);
        await e.docket.recovery.runOnce();
        expect(await e.store.getCondition(KEPT_60S)).toBeUndefined();
        expect(events.map((ev) => ev.type)).toEqual(['opened', 'exhausted', 'exhausted', 'closed']);
        expect(events.at(-1)).toMatchObject({ type: 'closed', condition: KEPT_60S, reason: 'nothing parked' });
      } finally {
        await e.close();
      }
    });
  });
}
