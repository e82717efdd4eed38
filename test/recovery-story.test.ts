// The recovery story of issue 7, on both deployments (embedded; PostgreSQL + Redis): 1,000 jobs
// call a downstream service that is down for a while. While it is down it sees only the
// discovering failures and then the probes; when it recovers, the parked jobs complete, released
// no faster than the policy allows.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigFile } from '../src/config/index.js';
import { releaseBudget } from '../src/domain/recovery/policy.js';
import { TransientError } from '../src/sdk/errors.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import type { RecoveryEvent } from '../src/services/recovery-events.js';
import { deployments } from './helpers/deployments.js';
import { until } from './helpers/process.js';

const JOBS = 1000;
const CONCURRENCY = 40;
const RULES = parseConfigFile({
  recovery: {
    policies: [
      {
        conditions: 'service:*',
        probeEverySeconds: 0.3,
        probeBackoff: 1.5,
        maxProbeEverySeconds: 1,
        release: { perSecond: 100, maxPerSecond: 250, rampEverySeconds: 1 },
        maxParkSeconds: 600,
      },
    ],
  },
});
const POLICY = RULES.policies[0]!;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const DEPLOYMENTS = deployments((c) => cleanups.push(c), { rules: RULES, maintenanceIntervalMs: 100, recoveryIntervalMs: 50 });

for (const { name, open } of DEPLOYMENTS) {
  describe(`recovery story: ${name}`, () => {
    it('parks the jobs of a downstream that is down, probes it, and releases them throttled when it recovers', async () => {
      const docket = await open();
      cleanups.push(() => docket.stop());
      const events: RecoveryEvent[] = [];
      docket.jobs.parking.events.on((e) => events.push(e));
      const releases: number[] = [];
      docket.jobs.transitions.lifecycle.on((e) => {
        if (e.from === 'blocked' && e.to === 'ready' && e.job.stateReason === 'released') releases.push(e.at);
      });

      // The fake downstream: counts every call, refuses while down.
      const downstream = { down: true, calls: [] as number[] };
      const worker = new Worker({
        transport: new LocalTransport(docket.jobs),
        handlers: {
          pay: async () => {
            downstream.calls.push(Date.now());
            if (downstream.down) throw new TransientError('service:payments', 'payments-api: connection refused', 'ECONNREFUSED');
            return { paid: true };
          },
        },
        concurrency: CONCURRENCY,
        heartbeatMs: 1000,
        logger: pino({ level: 'silent' }),
      });
      cleanups.push(() => worker.close(1000));

      const ids: string[] = [];
      for (let i = 0; i < JOBS; i += 500) {
        const jobs = await docket.jobs.submitter.submit(Array.from({ length: 500 }, (_, n) => ({ type: 'pay', payload: { n: i + n } })), { tenant: 'shop' });
        ids.push(...jobs.map((j) => j.id));
      }
      await worker.start();

      // Every job ends up parked under the one condition; the first failures discover it.
      await until('all jobs parked', async () => {
        const [c] = await docket.recoveryOps.list(null);
        return c && c.parkedTotal === JOBS ? c : undefined;
      }, 30_000);
      const discovery = downstream.calls.length;
      const count = (type: RecoveryEvent['type']) => events.filter((e) => e.type === type).length;
      // A probe may already have gone out while the last jobs were parking: count from here.
      const [probesBefore, failedBefore] = [count('probe'), count('probe_failed')];
      expect(discovery).toBeGreaterThan(0);
      // One wave (the jobs already running or claimed when the first failure came back), not 1,000 calls.
      expect(discovery).toBeLessThanOrEqual(CONCURRENCY * 3);

      // Down for a while: only probes reach it, each one call.
      await until('three probes', () => (count('probe_failed') - failedBefore >= 3 ? true : undefined), 20_000);
      // Each probe is one call; the latest probe may still be on its way to the worker.
      const probeCalls = downstream.calls.length - discovery;
      const inFlight = probesBefore - failedBefore; // a probe out at the snapshot may have called already
      expect(probeCalls).toBeGreaterThanOrEqual(count('probe_failed') - failedBefore - inFlight);
      expect(probeCalls).toBeLessThanOrEqual(count('probe') - probesBefore + inFlight);
      const [stillDown] = await docket.recoveryOps.list(null);
      expect(stillDown).toMatchObject({ key: 'service:payments', parkedTotal: JOBS - (stillDown!.status === 'probing' ? 1 : 0) });

      // It recovers: the next probe succeeds, then the parked jobs are released at the policy's rate.
      const recoveredAt = Date.now();
      downstream.down = false;
      await until('every job succeeded', async () => ((await docket.store.countByState({})).succeeded === JOBS ? true : undefined), 60_000, 100);
      const cleared = events.find((e) => e.type === 'cleared' && e.at >= recoveredAt)!;
      expect(cleared).toBeDefined();
      // Released never faster than the budget: a ramp from 100/s to at most 250/s.
      expect(releases.length).toBe(JOBS - 1); // all but the successful probe
      releases.forEach((t, i) => expect(i + 1).toBeLessThanOrEqual(releaseBudget(POLICY, t - cleared.at)));
      // Releases are paced by a bucket holding two loop runs' worth (100 ms here), and each is timestamped
      // after its store write (tens of ms on a busy machine), so a 1-s window of timestamps can hold
      // a little more than the rate; the cumulative budget above is exact.
      for (const t of releases) expect(releases.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(Math.ceil(POLICY.release.maxPerSecond * 1.15));
      // What the downstream sees follows it; a job starts a few ms after its release, and a worker
      // catching up can bunch a few starts, so a 1-s window may hold slightly more (reported).
      const after = downstream.calls.filter((t) => t >= cleared.at);
      const peak = Math.max(...after.map((t) => after.filter((u) => u >= t && u < t + 1000).length));
      console.log(`[recovery story ${name}] discovery calls ${discovery}, probes ${events.filter((e) => e.type === 'probe').length}, peak downstream calls in 1 s after recovery ${peak} (release cap ${POLICY.release.maxPerSecond}/s)`);
      expect(peak).toBeLessThanOrEqual(Math.ceil(POLICY.release.maxPerSecond * 1.3));

      // Parking burned no attempt: every job succeeded on its first counted attempt.
      for (let i = 0; i < ids.length; i += 200) {
        const page = await Promise.all(ids.slice(i, i + 200).map((id) => docket.jobs.queries.get(id)));
        for (const job of page) expect(job).toMatchObject({ state: 'succeeded', attempt: 1 });
      }
      await until('condition closed', async () => ((await docket.recoveryOps.list(null)).length === 0 ? true : undefined), 10_000);
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['opened', 'probe', 'probe_failed', 'cleared', 'closed']));
    });
  });
}
