// The schedule store's contract, run on both adapters: SQLite (in memory) and PostgreSQL (a schema
// of its own per test).
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresScheduleStore } from '../src/adapters/postgres/postgres-schedule-store.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { SqliteScheduleStore } from '../src/adapters/sqlite/sqlite-schedule-store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { ScheduleRecord } from '../src/domain/schedule.js';
import type { ScheduleStore } from '../src/ports/schedule-store.js';
import type { Store } from '../src/ports/store.js';
import { T0, newJob } from './conformance/fixtures.js';
import { openTestSchema } from './helpers/postgres.js';

interface Subject {
  jobs: Store;
  schedules: ScheduleStore;
  /** A second store on the same database (PostgreSQL: another pool), for races. */
  other(): ScheduleStore;
  cleanup(): Promise<void>;
}

const ADAPTERS: [string, () => Promise<Subject>][] = [
  [
    'sqlite',
    async () => {
      const store = new SqliteStore({ path: ':memory:' });
      await store.migrate();
      const schedules = new SqliteScheduleStore(store);
      return { jobs: store, schedules, other: () => schedules, cleanup: () => store.close() };
    },
  ],
  [
    'postgres',
    async () => {
      const { connectionString, schema, drop } = await openTestSchema();
      const store = new PostgresStore({ connectionString, schema, max: 4 });
      await store.migrate();
      const extra: PostgresStore[] = [];
      return {
        jobs: store,
        schedules: new PostgresScheduleStore(store),
        other: () => {
          const s = new PostgresStore({ connectionString, schema, max: 4 });
          extra.push(s);
          return new PostgresScheduleStore(s);
        },
        async cleanup() {
          for (const s of [store, ...extra]) await s.close();
          await drop();
        },
      };
    },
  ],
];

function schedule(overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: uuidv7(),
    tenant: 'acme',
    name: `s-${uuidv7()}`,
    cron: '@hourly',
    timezone: 'Europe/Berlin',
    job: { type: 'report', payload: { a: 1 }, labels: { k: 'v' } },
    overlap: 'skip',
    catchUp: 'latest',
    catchUpLimit: 10,
    paused: false,
    startAt: null,
    endAt: null,
    nextFireAt: T0 + 3_600_000,
    lastFireAt: null,
    lastJobId: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

for (const [name, open] of ADAPTERS) {
  describe(`schedule store: ${name}`, () => {
    let subject: Subject | undefined;
    afterEach(async () => {
      await subject?.cleanup();
      subject = undefined;
    });
    const setup = async () => (subject = await open());

    it('stores and reads a schedule back, field for field', async () => {
      const { schedules } = await setup();
      const s = schedule({ startAt: T0, endAt: T0 + 86_400_000, paused: true, overlap: 'cancel-previous', catchUp: 'all', catchUpLimit: 3 });
      expect(await schedules.insertSchedule(s)).toBe('ok');
      expect(await schedules.getSchedule(s.id)).toEqual(s);
      expect(await schedules.getSchedule('nope')).toBeUndefined();
    });

    it('keeps names unique per tenant', async () => {
      const { schedules } = await setup();
      expect(await schedules.insertSchedule(schedule({ name: 'nightly' }))).toBe('ok');
      expect(await schedules.insertSchedule(schedule({ name: 'nightly' }))).toBe('name_taken');
      expect(await schedules.insertSchedule(schedule({ name: 'nightly', tenant: 'globex' }))).toBe('ok');
      const other = schedule({ name: 'weekly' });
      await schedules.insertSchedule(other);
      expect(await schedules.updateSchedule({ ...other, name: 'nightly' })).toBe('name_taken');
      expect(await schedules.updateSchedule(schedule())).toBe('not_found');
    });

    it('lists by tenant, oldest first, page by page', async () => {
      const { schedules } = await setup();
      const mine = [schedule(), schedule(), schedule()];
      for (const s of mine) await schedules.insertSchedule(s);
      await schedules.insertSchedule(schedule({ tenant: 'globex' }));
      const first = await schedules.listSchedules({ tenant: 'acme' }, 2);
      expect(first.schedules.map((s) => s.id)).toEqual([mine[0]!.id, mine[1]!.id]);
      const second = await schedules.listSchedules({ tenant: 'acme' }, 2, first.nextCursor!);
      expect(second).toEqual({ schedules: [mine[2]], nextCursor: null });
      expect((await schedules.listSchedules({}, 10)).schedules).toHaveLength(4);
    });

    it('updates what a user may change and leaves the last fire alone', async () => {
      const { schedules, jobs } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      const job = newJob({ tenant: 'acme' });
      await schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: job.id, recordedAt: T0 }, job);
      const changed = { ...s, cron: '*/5 * * * *', job: { type: 'other' }, paused: true, nextFireAt: null, updatedAt: T0 + 1, lastFireAt: null, lastJobId: null };
      expect(await schedules.updateSchedule(changed)).toBe('ok');
      expect(await schedules.getSchedule(s.id)).toEqual({ ...changed, lastFireAt: T0, lastJobId: job.id });
      expect(await jobs.getJob(job.id)).toMatchObject({ tenant: 'acme', state: 'ready' });
    });

    it('finds due schedules: not paused, next fire at or before now, page by page', async () => {
      const { schedules } = await setup();
      const due = [schedule({ nextFireAt: T0 }), schedule({ nextFireAt: T0 - 5 }), schedule({ nextFireAt: T0 - 10 })];
      for (const s of due) await schedules.insertSchedule(s);
      await schedules.insertSchedule(schedule({ nextFireAt: T0 + 1 }));
      await schedules.insertSchedule(schedule({ nextFireAt: T0 - 100, paused: true }));
      await schedules.insertSchedule(schedule({ nextFireAt: null }));
      const page = await schedules.dueSchedules(T0, 2);
      expect(page.map((s) => s.id)).toEqual([due[0]!.id, due[1]!.id]);
      expect((await schedules.dueSchedules(T0, 2, page[1]!.id)).map((s) => s.id)).toEqual([due[2]!.id]);
      expect(await schedules.earliestFireAt()).toBe(T0 - 10);
    });

    it('has no earliest fire without active schedules', async () => {
      const { schedules } = await setup();
      expect(await schedules.earliestFireAt()).toBeNull();
      await schedules.insertSchedule(schedule({ paused: true }));
      expect(await schedules.earliestFireAt()).toBeNull();
    });

    it('records a fire with its job once: the same (schedule, fire time) again writes nothing', async () => {
      const { schedules, jobs } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      const job = newJob({ tenant: 'acme', labels: { 'docket.schedule': s.id } });
      expect(await schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: job.id, recordedAt: T0 }, job)).toEqual({ recorded: true, heldBy: null });
      const again = newJob({ tenant: 'acme' });
      expect(await schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: again.id, recordedAt: T0 }, again)).toEqual({ recorded: false });
      expect(await jobs.getJob(job.id)).toMatchObject({ labels: { 'docket.schedule': s.id } });
      expect(await jobs.getJob(again.id)).toBeUndefined();
      expect(await schedules.getSchedule(s.id)).toMatchObject({ lastFireAt: T0, lastJobId: job.id });

      // A skipped fire has no job and does not move the last fire; an older fire does not either.
      expect(await schedules.recordFire({ scheduleId: s.id, fireAt: T0 + 60_000, outcome: 'skipped', jobId: null, recordedAt: T0 }, null)).toEqual({ recorded: true, heldBy: null });
      const older = newJob({ tenant: 'acme' });
      expect(await schedules.recordFire({ scheduleId: s.id, fireAt: T0 - 60_000, outcome: 'fired', jobId: older.id, recordedAt: T0 }, older)).toEqual({ recorded: true, heldBy: null });
      expect(await schedules.getSchedule(s.id)).toMatchObject({ lastFireAt: T0, lastJobId: job.id });
      expect(await schedules.listFires(s.id, 10)).toEqual([
        { scheduleId: s.id, fireAt: T0 + 60_000, outcome: 'skipped', jobId: null, recordedAt: T0 },
        { scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: job.id, recordedAt: T0 },
        { scheduleId: s.id, fireAt: T0 - 60_000, outcome: 'fired', jobId: older.id, recordedAt: T0 },
      ]);
    });

    it('a fire whose job cannot be inserted is not recorded (one transaction)', async () => {
      const { schedules, jobs } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      const existing = newJob({ tenant: 'acme' });
      await jobs.insertJobs([existing]);
      // The same job id again: the job insert fails, and the fire record goes with it.
      await expect(schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: existing.id, recordedAt: T0 }, existing)).rejects.toThrow();
      expect(await schedules.listFires(s.id, 10)).toEqual([]);
      const fresh = newJob({ tenant: 'acme' });
      expect(await schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: fresh.id, recordedAt: T0 }, fresh)).toEqual({ recorded: true, heldBy: null });
    });

    it('concurrent records of one fire: exactly one wins, one job', async () => {
      const { schedules, jobs } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      const stores = [schedules, subject!.other(), subject!.other()];
      for (let fire = 0; fire < 5; fire++) {
        const fireAt = T0 + fire * 1000;
        const attempts = Array.from({ length: 9 }, (_, i) => {
          const job = newJob({ tenant: 'acme' });
          return stores[i % stores.length]!.recordFire({ scheduleId: s.id, fireAt, outcome: 'fired', jobId: job.id, recordedAt: T0 }, job).then((r) => ({ won: r.recorded, id: job.id }));
        });
        const results = await Promise.all(attempts);
        expect(results.filter((r) => r.won)).toHaveLength(1);
        for (const r of results) expect((await jobs.getJob(r.id)) !== undefined).toBe(r.won);
      }
      expect(await schedules.listFires(s.id, 100)).toHaveLength(5);
    });

    it('advances the next fire only from the expected value', async () => {
      const { schedules } = await setup();
      const s = schedule({ nextFireAt: T0 });
      await schedules.insertSchedule(s);
      expect(await schedules.advanceSchedule(s.id, T0 - 1, T0 + 1)).toBe(false);
      expect(await schedules.advanceSchedule(s.id, T0, null)).toBe(true);
      expect(await schedules.advanceSchedule(s.id, null, T0 + 5)).toBe(true);
      expect(await schedules.getSchedule(s.id)).toMatchObject({ nextFireAt: T0 + 5 });
    });

    it('deletes a schedule with its fire records, keeping its jobs', async () => {
      const { schedules, jobs } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      const job = newJob({ tenant: 'acme' });
      await schedules.recordFire({ scheduleId: s.id, fireAt: T0, outcome: 'fired', jobId: job.id, recordedAt: T0 }, job);
      expect(await schedules.deleteSchedule(s.id)).toBe(true);
      expect(await schedules.deleteSchedule(s.id)).toBe(false);
      expect(await schedules.getSchedule(s.id)).toBeUndefined();
      expect(await schedules.listFires(s.id, 10)).toEqual([]);
      expect(await jobs.getJob(job.id)).toMatchObject({ id: job.id }); // the fired job outlives its schedule
    });

    it('prunes old fire records', async () => {
      const { schedules } = await setup();
      const s = schedule();
      await schedules.insertSchedule(s);
      for (let i = 0; i < 5; i++) await schedules.recordFire({ scheduleId: s.id, fireAt: T0 + i, outcome: 'skipped', jobId: null, recordedAt: T0 + i }, null);
      expect(await schedules.pruneFires(T0 + 3, 2)).toBe(2);
      expect(await schedules.pruneFires(T0 + 3, 100)).toBe(1);
      expect((await schedules.listFires(s.id, 10)).map((f) => f.fireAt)).toEqual([T0 + 4, T0 + 3]);
    });
  });
}
