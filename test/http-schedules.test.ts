// Cron schedules over real HTTP through the SDK, as users call them: validation errors naming the
// field, tenant isolation, pause and resume, preview, and a fire that submits a job. On both
// deployments (embedded; PostgreSQL + Redis), but the API document, which is the server's alone.
import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';

const T = Date.parse('2026-03-28T12:00:00Z');

const engines = both();
let base = '';

async function start() {
  // A manual clock: the firer runs only when the test says so.
  const clock = new ManualClock(T);
  const started = await engines.start({ clock }, (d) => ({ schedules: d.schedules }));
  const docket = started.docket;
  base = started.base;
  const as = async (tenant: string, ...roles: Parameters<typeof tokenFor>[1]) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, roles) });
  return {
    clock,
    docket,
    acme: await as('acme', 'submitter'),
    viewer: await as('acme', 'viewer'),
    other: await as('globex', 'submitter'),
    admin: await as('ops', 'admin'),
  };
}

const NIGHTLY = { name: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin', job: { type: 'report', payload: { kind: 'daily' } } };

/** The problem a call failed with. */
async function problemOf(call: Promise<unknown>) {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DocketApiError);
  return err as DocketApiError;
}

engines.onBoth('schedules over HTTP', () => {
  it('creates a schedule with defaults, reads it with its next fire times (DST-aware), lists it', async () => {
    const { acme } = await start();
    const s = await acme.schedules.create(NIGHTLY);
    expect(s).toMatchObject({
      tenant: 'acme',
      name: 'nightly',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      overlap: 'skip',
      catchUp: 'latest',
      catchUpLimit: 10,
      paused: false,
      startAt: null,
      endAt: null,
      // 2026-03-29 is spring-forward day in Berlin: 02:30 does not exist; it runs at 03:00 CEST.
      nextFireAt: '2026-03-29T01:00:00.000Z',
      lastFireAt: null,
      lastJobId: null,
    });
    const got = await acme.schedules.get(s.id);
    expect(got.upcoming!.slice(0, 2)).toEqual([
      { at: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
      { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
    ]);
    expect((await acme.schedules.list()).schedules.map((x) => x.id)).toEqual([s.id]);
  });

  it('answers 400 naming each bad field; nothing is saved', async () => {
    const { acme } = await start();
    const cases: [object, string, RegExp][] = [
      [{ ...NIGHTLY, cron: '61 * * * *' }, '/cron', /not a valid cron expression.*minute/],
      [{ ...NIGHTLY, cron: '* * *' }, '/cron', /5 fields/],
      [{ ...NIGHTLY, timezone: 'Mars/Olympus' }, '/timezone', /not an IANA time zone/],
      [{ ...NIGHTLY, job: { type: 'report', priority: 11 } }, '/job/priority', /1 to 10/],
      [{ ...NIGHTLY, job: { type: 'report', runAt: '2026-04-01T00:00:00Z' } }, '/job/runAt', /fire time/],
      [{ ...NIGHTLY, job: { priority: 1 } }, '/job/type', /required/],
      [{ ...NIGHTLY, overlap: 'sometimes' }, '/overlap', /skip.*allow.*cancel-previous/],
      [{ ...NIGHTLY, catchUp: 'everything' }, '/catchUp', /none.*latest.*all/],
      [{ ...NIGHTLY, catchUpLimit: 0 }, '/catchUpLimit', /1 to 1000/],
      [{ ...NIGHTLY, startAt: '2026-05-01T00:00:00Z', endAt: '2026-04-01T00:00:00Z' }, '/endAt', /later than startAt/],
      [{ ...NIGHTLY, every: 'day' }, '/every', /unknown field/],
    ];
    for (const [body, path, message] of cases) {
      const err = await problemOf(acme.schedules.create(body as never));
      expect(err.status, JSON.stringify(body)).toBe(400);
      expect(err.problem?.type).toBe('urn:docket:problem:invalid-input');
      expect(err.problem?.errors, JSON.stringify(err.problem)).toEqual([{ path, message: expect.stringMatching(message) }]);
    }
    // A bad expression and a bad zone at once: both named.
    const both = await problemOf(acme.schedules.create({ ...NIGHTLY, cron: 'nope', timezone: 'Nowhere' }));
    expect(both.problem?.errors?.map((e) => e.path).sort()).toEqual(['/cron', '/timezone']);
    expect((await acme.schedules.list()).schedules).toEqual([]);

    await acme.schedules.create(NIGHTLY);
    const dup = await problemOf(acme.schedules.create(NIGHTLY));
    expect(dup.problem?.errors).toEqual([{ path: '/name', message: 'tenant acme already has a schedule named "nightly"' }]);
  });

  it('keeps tenants apart: another tenant sees and touches nothing; an admin sees all and acts for a tenant', async () => {
    const { acme, other, admin } = await start();
    const s = await acme.schedules.create(NIGHTLY);
    // The same name in another tenant is another schedule.
    const theirs = await other.schedules.create(NIGHTLY);
    expect((await other.schedules.list()).schedules.map((x) => x.id)).toEqual([theirs.id]);
    const calls = [() => other.schedules.get(s.id), () => other.schedules.pause(s.id), () => other.schedules.update(s.id, { cron: '@hourly' }), () => other.schedules.delete(s.id), () => other.schedules.fires(s.id)];
    for (const call of calls) {
      const err = await problemOf(call());
      expect(err.status).toBe(404);
      expect(err.problem?.detail).toBe(`schedule ${s.id} not found`);
    }
    expect((await acme.schedules.get(s.id)).cron).toBe('30 2 * * *');
    const forbidden = await problemOf(acme.schedules.list({ tenant: 'globex' }));
    expect(forbidden.status).toBe(403);

    expect((await admin.schedules.list()).schedules).toHaveLength(2);
    expect((await admin.schedules.list({ tenant: 'acme' })).schedules.map((x) => x.id)).toEqual([s.id]);
    const forAcme = new DocketClient({ baseUrl: base, token: await tokenFor('ops', ['admin']), tenant: 'acme' });
    const made = await forAcme.schedules.create({ ...NIGHTLY, name: 'by-admin' });
    expect(made.tenant).toBe('acme');
  });

  it('viewers read and preview, but may not create or change', async () => {
    const { acme, viewer } = await start();
    const s = await acme.schedules.create(NIGHTLY);
    expect((await viewer.schedules.get(s.id)).id).toBe(s.id);
    expect((await viewer.schedules.preview({ cron: '@daily' })).fires).toHaveLength(10);
    expect((await problemOf(viewer.schedules.create({ ...NIGHTLY, name: 'v' }))).status).toBe(403);
    expect((await problemOf(viewer.schedules.pause(s.id))).status).toBe(403);
  });

  it('pauses and resumes: no next fire while paused; resuming plans from now', async () => {
    const { acme, clock } = await start();
    const s = await acme.schedules.create({ ...NIGHTLY, name: 'hourly', cron: '@hourly', timezone: 'UTC' });
    expect(s.nextFireAt).toBe('2026-03-28T13:00:00.000Z');
    expect(await acme.schedules.pause(s.id)).toMatchObject({ paused: true, nextFireAt: null });
    expect((await acme.schedules.get(s.id)).upcoming).toEqual([]);
    clock.advance(3 * 3_600_000);
    expect(await acme.schedules.resume(s.id)).toMatchObject({ paused: false, nextFireAt: '2026-03-28T16:00:00.000Z' });
  });

  it('previews fire times before saving, with local times around DST, and names a bad zone', async () => {
    const { acme } = await start();
    const spring = await acme.schedules.preview({ cron: '30 2 * * *', timezone: 'Europe/Berlin', count: 3, from: '2026-03-27T12:00:00Z' });
    expect(spring).toEqual({
      timezone: 'Europe/Berlin',
      fires: [
        { at: '2026-03-28T01:30:00.000Z', local: '2026-03-28T02:30:00+01:00' },
        { at: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
        { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
      ],
    });
    const fall = await acme.schedules.preview({ cron: '30 1 * * *', timezone: 'America/New_York', count: 2, from: '2026-10-31T12:00:00Z' });
    expect(fall.fires).toEqual([
      { at: '2026-11-01T05:30:00.000Z', local: '2026-11-01T01:30:00-04:00' },
      { at: '2026-11-02T06:30:00.000Z', local: '2026-11-02T01:30:00-05:00' },
    ]);
    // Without `from`: after the server's now.
    expect((await acme.schedules.preview({ cron: '0 0 1 1 *', count: 1 })).fires).toEqual([{ at: '2027-01-01T00:00:00.000Z', local: '2027-01-01T00:00:00+00:00' }]);
    const err = await problemOf(acme.schedules.preview({ cron: '@daily', timezone: 'Europe/Atlantis' }));
    expect(err.problem?.errors).toEqual([{ path: '/timezone', message: expect.stringContaining('not an IANA time zone') }]);
    expect((await problemOf(acme.schedules.preview({ cron: '@daily', count: 101 }))).problem?.errors?.[0]?.path).toBe('/count');
  });

  it('updates fields (a new expression plans from now; null clears a date) and deletes', async () => {
    const { acme } = await start();
    const s = await acme.schedules.create({ ...NIGHTLY, endAt: '2026-12-31T00:00:00Z' });
    const changed = await acme.schedules.update(s.id, { cron: '0 9 * * MON-FRI', endAt: null, overlap: 'allow', job: { type: 'report', priority: 1 } });
    expect(changed).toMatchObject({ cron: '0 9 * * MON-FRI', endAt: null, overlap: 'allow', job: { type: 'report', priority: 1 }, name: 'nightly', nextFireAt: '2026-03-30T07:00:00.000Z' });
    expect((await problemOf(acme.schedules.update(s.id, { timezone: 'Not/AZone' }))).problem?.errors?.[0]?.path).toBe('/timezone');
    await acme.schedules.delete(s.id);
    expect((await problemOf(acme.schedules.get(s.id))).status).toBe(404);
    expect((await problemOf(acme.schedules.delete(s.id))).status).toBe(404);
  });

  it('fires: the job is the tenant\'s, found by its schedule label, and the fire is listed', async () => {
    const { acme, clock, docket } = await start();
    const s = await acme.schedules.create({ ...NIGHTLY, name: 'minutely', cron: '* * * * *', timezone: 'UTC' });
    clock.advance(60_000);
    await docket.firer!.runOnce();
    const { jobs } = await acme.list({ labels: { 'docket.schedule': s.id } });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ tenant: 'acme', type: 'report', payload: { kind: 'daily' }, state: 'ready', labels: { 'docket.fireAt': '2026-03-28T12:01:00.000Z' } });
    expect(await acme.schedules.fires(s.id)).toEqual([{ fireAt: '2026-03-28T12:01:00.000Z', outcome: 'fired', jobId: jobs[0]!.id, recordedAt: '2026-03-28T12:01:00.000Z' }]);
    expect(await acme.schedules.get(s.id)).toMatchObject({ lastFireAt: '2026-03-28T12:01:00.000Z', lastJobId: jobs[0]!.id, nextFireAt: '2026-03-28T12:02:00.000Z' });
  });

});

// The API document is the server's alone: the embedded engine serves it.
describe('the schedule routes in the API document', () => {
  it('documents every schedule route in a valid OpenAPI document', async () => {
    await start();
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const ops = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/schedules'))
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(ops).toEqual([
      'DELETE /v1/schedules/{id}',
      'GET /v1/schedules',
      'GET /v1/schedules/{id}',
      'GET /v1/schedules/{id}/fires',
      'PATCH /v1/schedules/{id}',
      'POST /v1/schedules',
      'POST /v1/schedules/preview',
      'POST /v1/schedules/{id}/pause',
      'POST /v1/schedules/{id}/resume',
    ]);
  });
});
