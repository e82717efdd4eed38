// The schedule firer on a manual clock, on both deployments (embedded; PostgreSQL + Redis): on-time
// fires, overlap policies, catch-up after downtime, pause, end dates; and on a production cluster,
// two firers racing over the same schedules make exactly one job per (schedule, fire time).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { Docket } from '../src/app/docket.js';
import { EMPTY_FILE_CONFIG, type FileConfig } from '../src/config/index.js';
import type { Job } from '../src/domain/job.js';
import { FIRE_LABEL, SCHEDULE_LABEL } from '../src/domain/schedule.js';
import { describeOnManualDeployments, manualProductionCluster, type ManualEngine } from './helpers/deployments.js';

const T = Date.parse('2026-01-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 3_600_000;

/** Every job of the schedule, oldest fire first. */
async function jobsOf(docket: Docket, scheduleId: string): Promise<Job[]> {
  const page = await docket.jobs.queries.list({ labels: { [SCHEDULE_LABEL]: scheduleId } }, 500);
  return page.jobs.sort((a, b) => a.labels[FIRE_LABEL]!.localeCompare(b.labels[FIRE_LABEL]!));
}
const fireTimes = (jobs: Job[]) => jobs.map((j) => j.labels[FIRE_LABEL]);

describe('schedule firer', () => {
  describeOnManualDeployments({}, (open) => {
    /** An engine whose loops are not started (the test runs the firer itself), its clock at T. */
    const setup = async (rules?: FileConfig) => {
      const { docket, clock } = await open(rules ? { rules } : {});
      expect(clock.now()).toBe(T);
      return { docket, clock, schedules: docket.schedules!, firer: docket.firer! };
    };

    it('fires on time, once per fire time, a job a worker can claim, labelled with its schedule', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'five', cron: '*/5 * * * *', job: { type: 'report', queue: 'reports', payload: { n: 1 }, priority: 2 } }, 'acme');
      expect(s.nextFireAt).toBe(T + 5 * MIN);
      clock.advance(5 * MIN - 1);
      expect(await firer.runOnce()).toEqual({ fired: 0, skipped: 0, duplicates: 0 });
      clock.advance(201);
      expect(await firer.runOnce()).toEqual({ fired: 1, skipped: 0, duplicates: 0 });
      expect(await firer.runOnce()).toEqual({ fired: 0, skipped: 0, duplicates: 0 });

      const [job] = await jobsOf(docket, s.id);
      expect(job).toMatchObject({ tenant: 'acme', queue: 'reports', type: 'report', payload: { n: 1 }, priority: 2, state: 'ready' });
      expect(job!.labels).toEqual({ [SCHEDULE_LABEL]: s.id, [FIRE_LABEL]: '2026-01-01T00:05:00.000Z' });
      const [claimed] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['reports'], max: 1 });
      expect(claimed!.id).toBe(job!.id);
      expect(await schedules.get(s.id, 'acme')).toMatchObject({ lastFireAt: T + 5 * MIN, lastJobId: job!.id, nextFireAt: T + 10 * MIN });
    });

    it('a fire goes through the submit pipeline: a routing rule picks its queue, a dedup rule makes a held key skip the fire', async () => {
      const rules: FileConfig = {
        ...EMPTY_FILE_CONFIG,
        routing: [{ types: ['report.*'], queue: 'reports' }],
        dedup: [{ type: 'report.daily', fields: ['payload.account'], ttlSeconds: 3600 }],
      };
      const { docket, clock } = await setup(rules);
      const s = await docket.schedules!.create({ name: 'daily', cron: '*/5 * * * *', overlap: 'allow', job: { type: 'report.daily', payload: { account: 'a-1' } } }, 'acme');
      clock.advance(5 * MIN);
      expect(await docket.firer!.runOnce()).toEqual({ fired: 1, skipped: 0, duplicates: 0 });
      const [first] = await jobsOf(docket, s.id);
      expect(first).toMatchObject({ queue: 'reports', state: 'ready' });
      // The next fire's job has the same dedup key while the first still holds it (ready, within the TTL): no job, the fire recorded skipped.
      clock.advance(5 * MIN);
      expect(await docket.firer!.runOnce()).toEqual({ fired: 0, skipped: 1, duplicates: 0 });
      expect(await jobsOf(docket, s.id)).toHaveLength(1);
      expect((await docket.schedules!.store.listFires(s.id, 10))[0]).toMatchObject({ fireAt: T + 10 * MIN, outcome: 'skipped', jobId: first!.id });
      // An API submit of the same job is answered with the same job: one rule, both entrances.
      const [again] = await docket.jobs.submitter.submitJobs([{ type: 'report.daily', payload: { account: 'a-1' } }], { tenant: 'acme' });
      expect(again).toMatchObject({ deduplicated: true, job: { id: first!.id } });
      // Once the rule's window (1 h) is over, the key no longer holds: the next fire makes a job again.
      clock.advance(HOUR);
      expect(await docket.firer!.runOnce()).toMatchObject({ fired: 1 });
      expect(await jobsOf(docket, s.id)).toHaveLength(2);
      // Every fire is a new job: it has nothing to wait for, so a schedule's job may not name dependencies.
      await expect(docket.schedules!.create({ name: 'deps', cron: '* * * * *', job: { type: 'x', dependsOn: [first!.id] } }, 'acme')).rejects.toMatchObject({
        issues: [{ path: '/job/dependsOn' }],
      });
    });

    it('overlap skip: no fire while the previous job is unfinished; fires again once it is done', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'skip', cron: '*/5 * * * *', job: { type: 'slow' } }, 'acme');
      clock.advance(5 * MIN);
      await firer.runOnce();
      clock.advance(5 * MIN);
      expect(await firer.runOnce()).toMatchObject({ fired: 0, skipped: 1 });
      const [first] = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
      await docket.jobs.outcomes.complete(first!.id, first!.leaseToken!);
      clock.advance(5 * MIN);
      expect(await firer.runOnce()).toMatchObject({ fired: 1, skipped: 0 });
      expect(fireTimes(await jobsOf(docket, s.id))).toEqual(['2026-01-01T00:05:00.000Z', '2026-01-01T00:15:00.000Z']);
      expect((await schedules.fires(s.id, 'acme', 10)).map((f) => f.outcome)).toEqual(['fired', 'skipped', 'fired']);
    });

    it('overlap allow: fires whatever the previous job is doing', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'allow', cron: '*/5 * * * *', overlap: 'allow', job: { type: 'slow' } }, 'acme');
      for (let i = 0; i < 3; i++) {
        clock.advance(5 * MIN);
        await firer.runOnce();
      }
      expect((await jobsOf(docket, s.id)).map((j) => j.state)).toEqual(['ready', 'ready', 'ready']);
    });

    it('overlap cancel-previous: cancels the unfinished previous job, then fires', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'cancel', cron: '*/5 * * * *', overlap: 'cancel-previous', job: { type: 'slow' } }, 'acme');
      clock.advance(5 * MIN);
      await firer.runOnce();
      await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1 }); // running now
      clock.advance(5 * MIN);
      expect(await firer.runOnce()).toMatchObject({ fired: 1 });
      const [first, second] = await jobsOf(docket, s.id);
      expect(first).toMatchObject({ state: 'cancelled', stateReason: 'schedule_overlap' });
      expect(second).toMatchObject({ state: 'ready' });
    });

    describe('catch-up after downtime (hourly, down from 00:00 to 05:30)', () => {
      const downtime = async (catchUp: string, extra: object = {}) => {
        const { docket, clock, schedules, firer } = await setup();
        const s = await schedules.create({ name: `up-${catchUp}`, cron: '@hourly', catchUp, overlap: 'allow', job: { type: 'tick' }, ...extra }, 'acme');
        clock.advance(5.5 * HOUR);
        await firer.runOnce();
        return { jobs: await jobsOf(docket, s.id), after: await schedules.get(s.id, 'acme') };
      };

      it('none: the missed fires are dropped; the next one is planned', async () => {
        const { jobs, after } = await downtime('none');
        expect(jobs).toEqual([]);
        expect(after.nextFireAt).toBe(T + 6 * HOUR);
      });

      it('latest: the most recent missed fire runs once', async () => {
        const { jobs } = await downtime('latest');
        expect(fireTimes(jobs)).toEqual(['2026-01-01T05:00:00.000Z']);
      });

      it('all: every missed fire, up to catchUpLimit (the newest ones)', async () => {
        expect(fireTimes((await downtime('all', { catchUpLimit: 3 })).jobs)).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T04:00:00.000Z', '2026-01-01T05:00:00.000Z']);
      });

      it('all with room: each of the five', async () => {
        expect((await downtime('all')).jobs).toHaveLength(5);
      });
    });

    it('a fire seen within the grace period is on time, and stands for older missed ones under latest', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'grace', cron: '@hourly', job: { type: 'tick' } }, 'acme');
      clock.advance(5 * HOUR + 30_000);
      await firer.runOnce();
      expect(fireTimes(await jobsOf(docket, s.id))).toEqual(['2026-01-01T05:00:00.000Z']);
    });

    it('a paused schedule does not fire; resuming plans from now, without catching up the pause', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'pause', cron: '@hourly', catchUp: 'all', job: { type: 'tick' } }, 'acme');
      await schedules.setPaused(s.id, true, 'acme');
      clock.advance(3.5 * HOUR);
      expect(await firer.runOnce()).toMatchObject({ fired: 0 });
      const resumed = await schedules.setPaused(s.id, false, 'acme');
      expect(resumed.nextFireAt).toBe(T + 4 * HOUR);
      clock.advance(HOUR / 2);
      expect(await firer.runOnce()).toMatchObject({ fired: 1 });
      expect(fireTimes(await jobsOf(docket, s.id))).toEqual(['2026-01-01T04:00:00.000Z']);
    });

    it('respects startAt and endAt, then has no next fire', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create(
        { name: 'window', cron: '@hourly', overlap: 'allow', startAt: '2026-01-01T02:00:00Z', endAt: '2026-01-01T03:00:00Z', job: { type: 'tick' } },
        'acme',
      );
      expect(s.nextFireAt).toBe(T + 2 * HOUR);
      for (let i = 0; i < 5; i++) {
        clock.advance(HOUR);
        await firer.runOnce();
      }
      expect(fireTimes(await jobsOf(docket, s.id))).toEqual(['2026-01-01T02:00:00.000Z', '2026-01-01T03:00:00.000Z']);
      expect((await schedules.get(s.id, 'acme')).nextFireAt).toBeNull();
    });

    it('a template with delayMs submits a delayed job', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'delayed', cron: '@hourly', job: { type: 'tick', delayMs: 60_000 } }, 'acme');
      clock.advance(HOUR);
      await firer.runOnce();
      const [job] = await jobsOf(docket, s.id);
      expect(job).toMatchObject({ state: 'scheduled', runAt: T + HOUR + 60_000 });
    });

    it('as a started duty: sleeps until the next fire and fires by itself', async () => {
      const { docket, clock, schedules, firer } = await setup();
      const s = await schedules.create({ name: 'loop', cron: '*/10 * * * * *', job: { type: 'tick' } }, 'acme');
      firer.start();
      try {
        for (let i = 0; i < 3; i++) {
          clock.advance(10_000);
          // A manual clock runs timers only when moved: advance(0) runs the ones the loop armed since.
          await vi.waitFor(
            async () => {
              clock.advance(0);
              expect(await jobsOf(docket, s.id)).toHaveLength(i + 1);
            },
            { timeout: 10_000 },
          );
          const [job] = (await jobsOf(docket, s.id)).slice(-1);
          await docket.jobs.cancels.cancel(job!.id); // finished: the next fire is no overlap
        }
      } finally {
        await firer.stop();
      }
    });
  });
});

describe('two firers of a production cluster (PostgreSQL + Redis)', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  it('make exactly one job per (schedule, fire time)', async () => {
    const cluster = await manualProductionCluster(2);
    cleanup = cluster.cleanup;
    const [one, two] = cluster.engines as [ManualEngine, ManualEngine];
    const a = one.store as PostgresStore;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await one.docket.schedules!.create({ name: `race-${i}`, cron: '*/10 * * * * *', overlap: 'allow', catchUp: 'all', catchUpLimit: 1000, job: { type: 'race' } }, 'acme');
      ids.push(s.id);
    }
    // Ten minutes later: 60 fires per schedule are due, on both nodes at once, twice each.
    one.clock.advance(10 * MIN);
    two.clock.advance(10 * MIN);
    const runs = await Promise.all([one.docket.firer!.runOnce(), two.docket.firer!.runOnce(), one.docket.firer!.runOnce(), two.docket.firer!.runOnce()]);
    expect(runs.reduce((n, r) => n + r.fired, 0)).toBe(4 * 60);

    const { rows } = await a.pool.query<{ schedule: string; fire: string; n: string }>(
      `SELECT labels->>'docket.schedule' AS schedule, labels->>'docket.fireAt' AS fire, count(*) AS n FROM jobs GROUP BY 1, 2`,
    );
    expect(rows).toHaveLength(4 * 60);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    expect(new Set(rows.map((r) => r.schedule))).toEqual(new Set(ids));
    const fires = await a.pool.query<{ n: string }>('SELECT count(*) AS n FROM schedule_fires');
    expect(Number(fires.rows[0]!.n)).toBe(4 * 60);
    // And a late third run anywhere finds nothing left to do.
    expect(await two.docket.firer!.runOnce()).toEqual({ fired: 0, skipped: 0, duplicates: 0 });
  });
});
