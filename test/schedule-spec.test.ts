// A schedule as the client writes it (src/domain/schedule.ts): defaults, the errors that name each
// bad field, patches, and previews. Pure: no store, no clock but the `now` given.
import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../src/domain/errors.js';
import { patchedSpec, toPreview, toScheduleSpec, type ScheduleRecord } from '../src/domain/schedule.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const JOB = { type: 'report.build' };

/** The issues a call throws, as `path: message`. */
function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('no ValidationError thrown');
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('toScheduleSpec', () => {
  it('applies the defaults: UTC, overlap skip, catch up latest (10), not paused, no bounds', () => {
    const spec = toScheduleSpec({ name: 'nightly', cron: '  0 3 * * *  ', job: JOB }, NOW);
    expect(spec).toMatchObject({
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'UTC',
      job: JOB,
      overlap: 'skip',
      catchUp: 'latest',
      catchUpLimit: 10,
      paused: false,
      startAt: null,
      endAt: null,
    });
    expect(iso(spec.plan.nextAfter(NOW)!)).toBe('2026-03-02T03:00:00.000Z');
  });

  it('keeps every setting given, and the plan fires in the zone within the bounds', () => {
    const spec = toScheduleSpec(
      {
        name: 'berlin-9am',
        cron: '0 9 * * *',
        timezone: 'Europe/Berlin',
        job: { ...JOB, delayMs: 5000, priority: 2 },
        overlap: 'cancel-previous',
        catchUp: 'all',
        catchUpLimit: 3,
        paused: true,
        startAt: '2026-03-10T00:00:00Z',
        endAt: '2026-03-12T23:00:00Z',
      },
      NOW,
    );
    expect(spec).toMatchObject({ timezone: 'Europe/Berlin', overlap: 'cancel-previous', catchUp: 'all', catchUpLimit: 3, paused: true });
    expect(spec.startAt).toBe(Date.parse('2026-03-10T00:00:00Z'));
    expect(spec.endAt).toBe(Date.parse('2026-03-12T23:00:00Z'));
    // 09:00 CET is 08:00Z; nothing before startAt, nothing after endAt.
    expect(spec.plan.next(5, NOW).map(iso)).toEqual(['2026-03-10T08:00:00.000Z', '2026-03-11T08:00:00.000Z', '2026-03-12T08:00:00.000Z']);
  });

  it('refuses what is not an object', () => {
    for (const input of [null, 'daily', [1], 42]) expect(issues(() => toScheduleSpec(input, NOW))).toEqual([': must be a JSON object']);
  });

  it('names each bad field once, with a message a person can act on', () => {
    expect(
      issues(() =>
        toScheduleSpec({ cron: '0 3 * * *', job: JOB, overlap: 'sometimes', catchUpLimit: 0, startAt: 'tomorrow', extra: 1 }, NOW),
      ).sort(),
    ).toEqual(
      [
        '/name: required',
        '/overlap: must be one of "skip", "allow", "cancel-previous"',
        '/catchUpLimit: Expected integer to be greater or equal to 1 (got 0)',
        '/startAt: "tomorrow" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z',
        '/extra: unknown field',
      ].sort(),
    );
  });

  it('names a bad cron and a bad zone together', () => {
    expect(issues(() => toScheduleSpec({ name: 'n', cron: '0 3 * *', timezone: 'Mars/Olympus', job: JOB }, NOW))).toEqual([
      '/timezone: "Mars/Olympus" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)',
      expect.stringMatching(/^\/cron: "0 3 \* \*" has 4 fields/),
    ]);
  });

  it('refuses an end not later than the start', () => {
    const at = '2026-03-10T00:00:00Z';
    expect(issues(() => toScheduleSpec({ name: 'n', cron: '@daily', job: JOB, startAt: at, endAt: at }, NOW))).toEqual([
      '/endAt: must be later than startAt',
    ]);
    // Either bound alone is fine.
    expect(toScheduleSpec({ name: 'n', cron: '@daily', job: JOB, endAt: at }, NOW).endAt).toBe(Date.parse(at));
    expect(toScheduleSpec({ name: 'n', cron: '@daily', job: JOB, startAt: at }, NOW).startAt).toBe(Date.parse(at));
  });

  it('refuses job fields that cannot repeat at every fire, naming them under /job', () => {
    const job = { ...JOB, runAt: '2026-03-02T00:00:00Z', expiresAt: '2026-03-03T00:00:00Z', dependsOn: ['a'], ref: 'r' };
    expect(issues(() => toScheduleSpec({ name: 'n', cron: '@daily', job }, NOW)).map((s) => s.split(':')[0])).toEqual([
      '/job/runAt',
      '/job/expiresAt',
      '/job/dependsOn',
      '/job/ref',
    ]);
  });

  it('leaves room for the two labels every fire adds: at most 30 of the 32', () => {
    const labels = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`l${i}`, 'v']));
    expect(toScheduleSpec({ name: 'n', cron: '@daily', job: { ...JOB, labels: labels(30) } }, NOW).job.labels).toEqual(labels(30));
    expect(issues(() => toScheduleSpec({ name: 'n', cron: '@daily', job: { ...JOB, labels: labels(31) } }, NOW))).toEqual([
      '/job/labels: at most 30 labels: every job of a schedule also gets docket.schedule and docket.fireAt',
    ]);
  });

  it('checks the job with the job rules, under /job', () => {
    expect(issues(() => toScheduleSpec({ name: 'n', cron: '@daily', job: { ...JOB, dedupTtlSeconds: 60 } }, NOW))).toEqual([
      "/job/dedupTtlSeconds: give dedupKey with it (a rule's key has the rule's ttlSeconds)",
    ]);
  });

  it('lets a payload over the limit through as PayloadTooLargeError, naming /job/payload', () => {
    const err = (() => {
      try {
        toScheduleSpec({ name: 'n', cron: '@daily', job: { ...JOB, payload: 'x'.repeat(100) } }, NOW, { maxPayloadBytes: 50 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ path: '/job/payload', limit: 50 });
  });
});

describe('patchedSpec', () => {
  const record = (): ScheduleRecord => {
    const { plan: _plan, ...spec } = toScheduleSpec(
      { name: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', job: JOB, overlap: 'allow', catchUp: 'none', catchUpLimit: 4, paused: true, startAt: '2026-03-05T00:00:00Z', endAt: '2026-04-01T00:00:00Z' },
      NOW,
    );
    return { ...spec, id: 's1', tenant: 't', nextFireAt: null, lastFireAt: null, lastJobId: null, createdAt: NOW, updatedAt: NOW };
  };

  it('keeps every field the patch leaves out', () => {
    const spec = patchedSpec(record(), {}, NOW);
    expect(spec).toMatchObject({
      name: 'nightly',
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
      overlap: 'allow',
      catchUp: 'none',
      catchUpLimit: 4,
      paused: true,
      startAt: Date.parse('2026-03-05T00:00:00Z'),
      endAt: Date.parse('2026-04-01T00:00:00Z'),
    });
  });

  it('keeps no bounds when the schedule has none', () => {
    const spec = patchedSpec({ ...record(), startAt: null, endAt: null }, { paused: false }, NOW);
    expect(spec).toMatchObject({ paused: false, startAt: null, endAt: null });
  });

  it('replaces the fields given, and null clears a bound', () => {
    const spec = patchedSpec(
      record(),
      { name: 'hourly', cron: '@hourly', timezone: 'UTC', job: { type: 'other' }, overlap: 'skip', catchUp: 'all', catchUpLimit: 7, paused: false, startAt: null, endAt: null },
      NOW,
    );
    expect(spec).toMatchObject({ name: 'hourly', cron: '@hourly', timezone: 'UTC', job: { type: 'other' }, overlap: 'skip', catchUp: 'all', catchUpLimit: 7, paused: false, startAt: null, endAt: null });
    expect(iso(spec.plan.nextAfter(NOW)!)).toBe('2026-03-01T13:00:00.000Z');
  });

  it('validates the merged result: a new start after the kept end is refused at /endAt', () => {
    expect(issues(() => patchedSpec(record(), { startAt: '2026-05-01T00:00:00Z' }, NOW))).toEqual(['/endAt: must be later than startAt']);
  });

  it('names the bad fields of the patch itself', () => {
    expect(issues(() => patchedSpec(record(), { catchUp: 'some', id: 'x' }, NOW)).sort()).toEqual(
      ['/catchUp: must be one of "none", "latest", "all"', '/id: unknown field'].sort(),
    );
    expect(issues(() => patchedSpec(record(), [], NOW))).toEqual([': must be a JSON object']);
  });
});

describe('toPreview', () => {
  it('defaults to 10 fires from now in UTC', () => {
    const preview = toPreview({ cron: '0 * * * *' }, NOW);
    expect(preview.count).toBe(10);
    expect(preview.from).toBe(NOW);
    expect(preview.plan.timezone).toBe('UTC');
  });

  it('takes count, from, the zone and the bounds', () => {
    const preview = toPreview(
      { cron: '30 2 * * *', timezone: 'Europe/Berlin', count: 3, from: '2026-03-27T12:00:00Z', startAt: '2026-03-28T00:00:00Z', endAt: '2026-03-30T12:00:00Z' },
      NOW,
    );
    expect(preview.count).toBe(3);
    // 02:30 does not exist on 03-29 in Berlin: the fire is at 03:00 CEST.
    expect(preview.plan.next(preview.count, preview.from).map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('names a bad count, bad times, a bad cron, and reversed bounds', () => {
    expect(issues(() => toPreview({ cron: '@daily', count: 101 }, NOW))).toEqual([expect.stringMatching(/^\/count: .*\(got 101\)$/)]);
    expect(issues(() => toPreview({ cron: '@daily', from: 'now' }, NOW))).toEqual([
      '/from: "now" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z',
    ]);
    expect(issues(() => toPreview({ cron: '0 0 30 2 *' }, NOW))).toEqual(['/cron: "0 0 30 2 *" matches no time at all (e.g. 30 February)']);
    expect(issues(() => toPreview({ cron: '@daily', startAt: '2026-03-02T00:00:00Z', endAt: '2026-03-01T00:00:00Z' }, NOW))).toEqual([
      '/endAt: must be later than startAt',
    ]);
    expect(issues(() => toPreview('0 * * * *', NOW))).toEqual([': must be a JSON object']);
  });
});
