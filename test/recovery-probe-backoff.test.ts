// An open recovery condition probes its downstream at the policy's backoff, asserted from both
// sides at a slow and a fast setting, on both deployments with a manual clock: the first probe
// probeEverySeconds after the condition opened, each failed probe multiplying the wait by
// probeBackoff up to maxProbeEverySeconds; a run a millisecond before a probe is due sends none,
// the run at it sends exactly one.
import { describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { parseConfigFile } from '../src/config/index.js';
import type { RecoveryEvent } from '../src/services/recovery-events.js';
import { describeOnManualDeployments } from './helpers/deployments.js';

const KEY = 'service:payments';

/** Policies and the waits they promise (ms): before the first probe, then after each failed one. */
const SETTINGS = [
  { name: 'slow: 10 s doubling up to 60 s', probe: { probeEverySeconds: 10, probeBackoff: 2, maxProbeEverySeconds: 60 }, waits: [10_000, 20_000, 40_000, 60_000, 60_000] },
  // 0.25 s x 1.5^n: 375, 562.5 and 843.75 ms round to whole milliseconds.
  { name: 'fast: 0.25 s x 1.5 up to 1 s', probe: { probeEverySeconds: 0.25, probeBackoff: 1.5, maxProbeEverySeconds: 1 }, waits: [250, 375, 563, 844, 1000, 1000] },
];

/** Three jobs parked under KEY: the first fails with the condition (opening it), the gate parks the others. */
async function park(docket: Docket): Promise<void> {
  await docket.jobs.submitter.submit([{ type: 'pay' }, { type: 'pay' }, { type: 'pay' }], { tenant: 'shop' });
  const [first] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
  expect(await docket.jobs.outcomes.fail(first!.id, first!.leaseToken!, { message: 'payments-api: 503', condition: KEY })).toMatchObject({ ok: true });
  expect(await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 10 })).toEqual([]);
  expect((await docket.store.countByState({})).blocked).toBe(3);
}

describe('recovery probe backoff', () => {
  describeOnManualDeployments({}, (open) => {
    for (const { name, probe, waits } of SETTINGS) {
      it(`probes exactly at the backoff, not a millisecond sooner or later (${name})`, async () => {
        const rules = parseConfigFile({ recovery: { policies: [{ conditions: 'service:*', ...probe, maxParkSeconds: 86_400 }] } });
        const { docket, clock } = await open({ rules });
        const events: RecoveryEvent['type'][] = [];
        docket.jobs.parking.events.on((e) => events.push(e.type));
        await park(docket);
        const condition = async () => (await docket.store.getCondition(KEY))!;
        let due = clock.now() + waits[0]!;
        expect(await condition()).toMatchObject({ status: 'open', nextProbeAt: due });

        for (let n = 1; n < waits.length; n++) {
          clock.advance(due - 1 - clock.now());
          await docket.recovery.runOnce();
          expect(await condition(), `probe ${n} a millisecond early`).toMatchObject({ status: 'open', probeJobId: null });
          clock.advance(1);
          await docket.recovery.runOnce();
          expect(await condition(), `probe ${n} when due`).toMatchObject({ status: 'probing' });
          expect(events.filter((t) => t === 'probe')).toHaveLength(n);

          // The probe hits the condition again: parked, and the wait grows.
          const [probeJob] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 10 });
          expect(probeJob!.id).toBe((await condition()).probeJobId);
          expect(await docket.jobs.outcomes.fail(probeJob!.id, probeJob!.leaseToken!, { message: 'payments-api: 503', condition: KEY })).toMatchObject({ ok: true });
          await docket.recovery.runOnce();
          due = clock.now() + waits[n]!;
          expect(await condition()).toMatchObject({ status: 'open', probeFailures: n, nextProbeAt: due });
          expect(events.filter((t) => t === 'probe_failed')).toHaveLength(n);
        }
      });
    }
  });
});
