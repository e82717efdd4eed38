// Issue 21.1: a releasing condition gives its parked jobs back at the policy's ramp, at slow rates
// (0.1/s, 0.5/s, 2 -> 8/s), at the audit's 10 -> 40/s and at fast ones (100 -> 250/s, 1,000 ->
// 4,000/s), on both deployments (embedded; PostgreSQL + Redis). Time is a manual clock moved one
// loop interval at a time, so the count is checked against the ramp at every run from both sides
// (runs on time release exactly the ramp's budget), with no timing on this machine involved; and a
// run that comes late releases two runs' worth, not the backlog, then the rate goes on exactly.
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../src/config/index.js';
import type { Docket } from '../src/app/docket.js';
import { budgetReachedAtMs, releaseBudget, releaseRate, type RecoveryPolicy } from '../src/domain/recovery/policy.js';
import { describeOnManualDeployments } from './helpers/deployments.js';

const INTERVAL_MS = 250; // the recovery loop's default
const KEY = 'service:payments';

/** Release policies and how many jobs are parked for each (enough to see the ramp reach its cap). */
const RATES: { name: string; release: RecoveryPolicy['release']; parked: number }[] = [
  { name: '0.1/s', release: { perSecond: 0.1, maxPerSecond: 0.1, rampEverySeconds: 10 }, parked: 4 },
  { name: '0.5/s', release: { perSecond: 0.5, maxPerSecond: 0.5, rampEverySeconds: 10 }, parked: 10 },
  { name: '2 -> 8/s every 2 s', release: { perSecond: 2, maxPerSecond: 8, rampEverySeconds: 2 }, parked: 60 },
  { name: '10 -> 40/s every 2 s', release: { perSecond: 10, maxPerSecond: 40, rampEverySeconds: 2 }, parked: 200 },
  { name: '100 -> 250/s every 1 s', release: { perSecond: 100, maxPerSecond: 250, rampEverySeconds: 1 }, parked: 1000 },
  { name: '1,000 -> 4,000/s every 1 s', release: { perSecond: 1000, maxPerSecond: 4000, rampEverySeconds: 1 }, parked: 8000 },
];

/** Constant rates (no ramp) for the late-run check: runs on time, one run 5 s late, runs on time. */
const LATE = [
  { name: 'slow: 2/s, half a job a run', perSecond: 2, onTime: 4, after: 8, parked: 10 },
  { name: 'fast: 1,000/s, 250 jobs a run', perSecond: 1000, onTime: 2, after: 4, parked: 2100 },
];

/** `n` jobs parked under KEY: the first fails with the condition, the rest are held by its gate when claimed. */
async function park(docket: Docket, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    await docket.jobs.submitter.submit(Array.from({ length: Math.min(500, n - i) }, () => ({ type: 'pay' })), { tenant: 'shop' });
  }
  const [first] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
  expect(await docket.jobs.outcomes.fail(first!.id, first!.leaseToken!, { message: 'payments-api: 503', condition: KEY })).toMatchObject({ ok: true });
  for (let round = 0; round < Math.ceil(n / 1000) + 1; round++) {
    expect(await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1000 })).toEqual([]); // gated: parked, not run
  }
  expect((await docket.store.countByState({})).blocked).toBe(n);
}

describe('recovery release rate', () => {
  describeOnManualDeployments({ recoveryIntervalMs: INTERVAL_MS }, (open) => {
    for (const { name, release, parked } of RATES) {
      it(`follows the ramp ${name}`, async () => {
        const rules = parseConfigFile({ recovery: { policies: [{ conditions: 'service:*', release, maxParkSeconds: 86_400 }] } });
        const policy = rules.policies[0]!;
        const { docket, clock } = await open({ rules });
        await park(docket, parked);

        // An operator declares it cleared (as a succeeded probe does): releasing starts now.
        expect(await docket.recoveryOps.release(KEY)).toBe(true);
        const start = clock.now();
        const doneMs = budgetReachedAtMs(policy, parked);
        const [before] = await docket.recoveryOps.list(null);
        expect(before).toMatchObject({ status: 'releasing', released: 0, parkedTotal: parked, releaseRate: release.perSecond, releaseEtaSeconds: Math.ceil(doneMs / 1000) });

        const runs = Math.ceil(doneMs / INTERVAL_MS) + 2;
        let closedAt: number | null = null;
        for (let run = 1; run <= runs && closedAt === null; run++) {
          clock.advance(INTERVAL_MS);
          await docket.recovery.runOnce();
          const elapsed = clock.now() - start;
          const [c] = await docket.recoveryOps.list(null);
          if (!c) {
            closedAt = elapsed;
            break;
          }
          const counts = await docket.store.countByState({});
          // From the condition (what GET /v1/conditions shows) and from the jobs themselves.
          expect(counts.ready ?? 0).toBe(c.released);
          expect(c.parkedTotal).toBe(parked - c.released);
          // Runs on time release exactly the ramp's budget (src/domain/recovery/release-pace.ts): never
          // faster than the ramp allows, and not a job behind it.
          expect(c.released, `released at ${elapsed} ms`).toBe(Math.min(parked, releaseBudget(policy, elapsed)));
          // The rate and time left shown follow the ramp.
          expect(c.releaseRate).toBe(releaseRate(policy, elapsed));
          expect(c.releaseEtaSeconds).toBe(Math.ceil(Math.max(0, budgetReachedAtMs(policy, parked) - elapsed) / 1000));
        }
        // Everything released by the first run at or after the ramp's promise, and the condition
        // closed by the run after that: not sooner (jobs were still parked), not later.
        expect((await docket.store.countByState({})).ready).toBe(parked);
        expect(closedAt).toBe((Math.ceil(doneMs / INTERVAL_MS) + 1) * INTERVAL_MS);
      }, 120_000);
    }

    for (const { name, perSecond, onTime, after, parked } of LATE) {
      it(`after a late run, releases two runs' worth, not the backlog, then exactly the rate again (${name})`, async () => {
        const release = { perSecond, maxPerSecond: perSecond, rampEverySeconds: 10 };
        const rules = parseConfigFile({ recovery: { policies: [{ conditions: 'service:*', release, maxParkSeconds: 86_400 }] } });
        const { docket, clock } = await open({ rules });
        await park(docket, parked);
        expect(await docket.recoveryOps.release(KEY)).toBe(true);
        const released = async () => (await docket.recoveryOps.list(null))[0]!.released;
        const run = async (ms: number) => {
          clock.advance(ms);
          await docket.recovery.runOnce();
          return released();
        };
        const perRun = (perSecond * INTERVAL_MS) / 1000;
        for (let n = 1; n <= onTime; n++) expect(await run(INTERVAL_MS)).toBe(Math.floor(n * perRun));
        const before = await released();
        // The loop stalls for 5 s (a slow store, a new leader): the ramp's budget is 5 s ahead, but
        // the run releases only what the pacing bucket holds, two runs' worth (at least one job).
        const twoRuns = Math.max(1, 2 * perRun);
        expect(await run(5000)).toBe(before + twoRuns);
        // Then on time again: the rate, no faster (the backlog is not made up), no slower.
        for (let n = 1; n <= after; n++) expect(await run(INTERVAL_MS), `run ${n} after the late one`).toBe(before + twoRuns + Math.floor(n * perRun));
        expect((await docket.store.countByState({})).ready).toBe(before + twoRuns + Math.floor(after * perRun));
      }, 120_000);
    }
  });
});
