// The schedule service on both deployments' schedule stores: names unique per tenant, what a change
// does to the next fire, pausing twice, another tenant's schedule, and change notices to the firer.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { NotFoundError, ValidationError } from '../src/domain/errors.js';
import type { ScheduleService } from '../src/services/schedule-service.js';
import { deployments } from './helpers/deployments.js';

const T = Date.parse('2026-03-28T12:00:00Z');
const HOUR = 3_600_000;
const NIGHTLY = { name: 'nightly', cron: '30 2 * * *', timezone: 'UTC', job: { type: 'report' } };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

for (const { name, open } of deployments((c) => cleanups.push(c))) {
  describe(`schedule service: ${name}`, () => {
    let clock: ManualClock;

    async function start(): Promise<ScheduleService> {
      clock = new ManualClock(T);
      const docket = await open({ clock });
      cleanups.push(() => docket.stop());
      return docket.schedules!;
    }

    /** The ValidationError or NotFoundError a call rejected with. */
    async function refusal(call: Promise<unknown>): Promise<Error> {
      const err = await call.then(
        () => new Error('resolved'),
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      return err;
    }

    it('a name is a tenant\'s own: a second schedule of that name (created or renamed to) is refused, naming the tenant', async () => {
      const schedules = await start();
      await schedules.create(NIGHTLY, 'acme');
      const again = await refusal(schedules.create({ ...NIGHTLY, cron: '0 * * * *' }, 'acme'));
      expect(again).toBeInstanceOf(ValidationError);
      expect((again as ValidationError).issues).toEqual([{ path: '/name', message: 'tenant acme already has a schedule named "nightly"' }]);
      // Another tenant may use the name.
      await schedules.create(NIGHTLY, 'globex');
      const hourly = await schedules.create({ ...NIGHTLY, name: 'hourly', cron: '0 * * * *' }, 'acme');
      const renamed = await refusal(schedules.update(hourly.id, { name: 'nightly' }, 'acme'));
      expect((renamed as ValidationError).issues).toEqual([{ path: '/name', message: 'tenant acme already has a schedule named "nightly"' }]);
      expect((await schedules.get(hourly.id, 'acme')).name).toBe('hourly');
    });

    it('a change of the job leaves the next fire where it was; a change of timing plans it from now', async () => {
      const schedules = await start();
      const s = await schedules.create({ ...NIGHTLY, cron: '0 */6 * * *' }, 'acme');
      expect(s.nextFireAt).toBe(T + 6 * HOUR);
      // Not pinned here: that an untimed change writes back the next fire as read rather than planning
      // it again (the two differ only after a missed fire, and the firer moves it as the clock passes one).
      clock.advance(HOUR);
      const rejobbed = await schedules.update(s.id, { job: { type: 'report', priority: 2 } }, 'acme');
      expect(rejobbed).toMatchObject({ nextFireAt: T + 6 * HOUR, updatedAt: T + HOUR, job: { type: 'report', priority: 2 } });
      const retimed = await schedules.update(s.id, { cron: '0 * * * *' }, 'acme');
      expect(retimed.nextFireAt).toBe(T + 2 * HOUR);
      expect((await schedules.get(s.id, null)).nextFireAt).toBe(T + 2 * HOUR);
    });

    it('pausing a paused schedule changes nothing; resuming plans from now; a paused schedule has no upcoming fires', async () => {
      const schedules = await start();
      const s = await schedules.create(NIGHTLY, 'acme');
      const paused = await schedules.setPaused(s.id, true, 'acme');
      expect(paused).toMatchObject({ paused: true, updatedAt: T });
      expect(schedules.upcoming(paused, 3)).toEqual([]);
      clock.advance(2 * 24 * HOUR);
      expect(await schedules.setPaused(s.id, true, 'acme')).toMatchObject({ paused: true, updatedAt: T });
      const resumed = await schedules.setPaused(s.id, false, 'acme');
      expect(resumed).toMatchObject({ paused: false, updatedAt: T + 2 * 24 * HOUR, nextFireAt: Date.parse('2026-03-31T02:30:00Z') });
      expect(schedules.upcoming(resumed, 2).map((f) => f.at)).toEqual([Date.parse('2026-03-31T02:30:00Z'), Date.parse('2026-04-01T02:30:00Z')]);
    });

    it('a schedule past its end date has no next fire and no upcoming fires', async () => {
      const schedules = await start();
      const s = await schedules.create({ ...NIGHTLY, endAt: new Date(T + HOUR).toISOString() }, 'acme');
      expect(s.nextFireAt).toBeNull();
      expect(schedules.upcoming(s, 5)).toEqual([]);
    });

    it('another tenant\'s schedule answers as a missing one; a deleted one is gone for every call', async () => {
      const schedules = await start();
      const s = await schedules.create(NIGHTLY, 'acme');
      const calls = [
        () => schedules.get(s.id, 'globex'),
        () => schedules.update(s.id, { cron: '0 1 * * *' }, 'globex'),
        () => schedules.setPaused(s.id, true, 'globex'),
        () => schedules.delete(s.id, 'globex'),
        () => schedules.fires(s.id, 'globex', 10),
      ];
      for (const call of calls) {
        const err = await refusal(call());
        expect(err).toBeInstanceOf(NotFoundError);
        expect(err.message).toBe(`schedule ${s.id} not found`);
      }
      expect(await schedules.fires(s.id, 'acme', 10)).toEqual([]);
      await schedules.delete(s.id, null);
      expect(await refusal(schedules.delete(s.id, null))).toBeInstanceOf(NotFoundError);
      expect((await schedules.list('acme', 10)).schedules).toEqual([]);
    });

    it('tells its listeners of each create, change and delete, until they unsubscribe', async () => {
      const schedules = await start();
      let told = 0;
      const stop = schedules.onChange(() => told++);
      const s = await schedules.create(NIGHTLY, 'acme');
      await schedules.update(s.id, { cron: '0 1 * * *' }, 'acme');
      await schedules.setPaused(s.id, true, 'acme');
      await schedules.setPaused(s.id, true, 'acme');
      await schedules.delete(s.id, 'acme');
      expect(told).toBe(4);
      stop();
      await schedules.create({ ...NIGHTLY, name: 'other' }, 'acme');
      expect(told).toBe(4);
    });
  });
}
