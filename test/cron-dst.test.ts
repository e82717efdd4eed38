// croner checked against an independent reference: fire instants worked out by hand from the
// zones' offsets around the 2026 DST changes, not computed by any library.
//
// Europe/Berlin: CET = UTC+1, CEST = UTC+2. Spring forward 2026-03-29 at 01:00Z (02:00 CET becomes
// 03:00 CEST: 02:00-02:59 does not exist). Fall back 2026-10-25 at 01:00Z (03:00 CEST becomes
// 02:00 CET: 02:00-02:59 happens twice, first at UTC+2 then at UTC+1).
// America/New_York: EST = UTC-5, EDT = UTC-4. Spring forward 2026-03-08 at 07:00Z (02:00 EST
// becomes 03:00 EDT). Fall back 2026-11-01 at 06:00Z (02:00 EDT becomes 01:00 EST: 01:00-01:59
// happens twice).
import { describe, expect, it } from 'vitest';
import { CronPlan, localIso } from '../src/domain/cron.js';
import { ValidationError } from '../src/domain/errors.js';

interface Row {
  what: string;
  cron: string;
  zone: string;
  /** Fires strictly after this instant. */
  after: string;
  expected: string[];
}

const TABLE: Row[] = [
  {
    what: 'Berlin 02:30 daily, spring forward: 02:30 does not exist on 03-29, runs once at 03:00 CEST (the end of the gap)',
    cron: '30 2 * * *',
    zone: 'Europe/Berlin',
    after: '2026-03-27T12:00:00Z',
    expected: ['2026-03-28T01:30:00Z', '2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z', '2026-03-31T00:30:00Z'],
  },
  {
    what: 'Berlin 02:30 daily, fall back: 02:30 happens twice on 10-25, runs once at the first (CEST)',
    cron: '30 2 * * *',
    zone: 'Europe/Berlin',
    after: '2026-10-23T12:00:00Z',
    expected: ['2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z', '2026-10-27T01:30:00Z'],
  },
  {
    what: 'Berlin 09:00 daily keeps its wall-clock time across the change',
    cron: '0 9 * * *',
    zone: 'Europe/Berlin',
    after: '2026-03-28T00:00:00Z',
    expected: ['2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z', '2026-03-30T07:00:00Z'],
  },
  {
    what: 'Berlin every 30 min, spring forward: 02:00 and 02:30 do not exist',
    cron: '*/30 * * * *',
    zone: 'Europe/Berlin',
    after: '2026-03-29T00:00:00Z',
    expected: ['2026-03-29T00:30:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:30:00Z', '2026-03-29T02:00:00Z'],
  },
  {
    what: 'Berlin every 30 min, fall back: both passes of 02:00-02:59 run (real time, every 30 min)',
    cron: '*/30 * * * *',
    zone: 'Europe/Berlin',
    after: '2026-10-24T23:45:00Z',
    expected: ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:30:00Z', '2026-10-25T02:00:00Z', '2026-10-25T02:30:00Z'],
  },
  {
    what: 'Berlin 6-field 02:30:00, spring forward: same as the 5-field form',
    cron: '0 30 2 * * *',
    zone: 'Europe/Berlin',
    after: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'],
  },
  {
    what: 'New York 02:30 daily, spring forward: runs once at 03:00 EDT on 03-08',
    cron: '30 2 * * *',
    zone: 'America/New_York',
    after: '2026-03-06T12:00:00Z',
    expected: ['2026-03-07T07:30:00Z', '2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'],
  },
  {
    what: 'New York 01:30 daily, fall back: 01:30 happens twice on 11-01, runs once at the first (EDT)',
    cron: '30 1 * * *',
    zone: 'America/New_York',
    after: '2026-10-30T12:00:00Z',
    expected: ['2026-10-31T05:30:00Z', '2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'],
  },
  {
    what: 'New York @daily across fall back: midnight EDT, then midnight EST',
    cron: '@daily',
    zone: 'America/New_York',
    after: '2026-10-31T00:00:00Z',
    expected: ['2026-10-31T04:00:00Z', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'],
  },
  {
    what: 'New York @hourly, fall back: 01:00 EDT and 01:00 EST both run (an hour apart)',
    cron: '@hourly',
    zone: 'America/New_York',
    after: '2026-11-01T04:30:00Z',
    expected: ['2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z', '2026-11-01T08:00:00Z'],
  },
  {
    what: 'New York @hourly, spring forward: 02:00 does not exist',
    cron: '@hourly',
    zone: 'America/New_York',
    after: '2026-03-08T05:30:00Z',
    expected: ['2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z', '2026-03-08T08:00:00Z'],
  },
];

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('cron fire times around DST changes (hand-written reference)', () => {
  for (const row of TABLE) {
    it(row.what, () => {
      const plan = CronPlan.parse(row.cron, row.zone);
      expect(plan.next(row.expected.length, Date.parse(row.after)).map(iso)).toEqual(row.expected);
    });
  }

  it('walks back the same way: Berlin 02:30 before 10-26 12:00Z has one fire on fall-back day', () => {
    const plan = CronPlan.parse('30 2 * * *', 'Europe/Berlin');
    expect(plan.previousBefore(Date.parse('2026-10-26T12:00:00Z'), 3).map(iso)).toEqual(['2026-10-26T01:30:00Z', '2026-10-25T00:30:00Z', '2026-10-24T00:30:00Z']);
  });

  it('a daily fixed-time job fires exactly once on every day of 2026 in both zones', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York']) {
      const fires = CronPlan.parse('30 2 * * *', zone).next(400, Date.parse('2025-12-30T12:00:00Z'));
      const days = fires.map((t) => localIso(t, zone).slice(0, 10)).filter((d) => d.startsWith('2026-'));
      expect(new Set(days).size).toBe(days.length);
      expect(days.length).toBe(365);
    }
  });

  it('shows local times with their offset', () => {
    expect(localIso(Date.parse('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00:00+02:00');
    expect(localIso(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+02:00');
    expect(localIso(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe('2026-10-25T02:30:00+01:00');
    expect(localIso(Date.parse('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('2026-11-01T01:30:00-05:00');
    expect(localIso(Date.parse('2026-06-01T12:00:00Z'), 'UTC')).toBe('2026-06-01T12:00:00+00:00');
  });
});

describe('cron bounds and validation', () => {
  it('keeps fires within startAt and endAt (a fire exactly at endAt happens)', () => {
    const plan = CronPlan.parse('@daily', 'UTC', { startAt: Date.parse('2026-05-02T00:00:00Z'), endAt: Date.parse('2026-05-04T00:00:00Z') });
    expect(plan.next(10, Date.parse('2026-04-01T00:00:00Z')).map(iso)).toEqual(['2026-05-02T00:00:00Z', '2026-05-03T00:00:00Z', '2026-05-04T00:00:00Z']);
    expect(plan.previousBefore(Date.parse('2026-06-01T00:00:00Z'), 10).map(iso)).toEqual(['2026-05-04T00:00:00Z', '2026-05-03T00:00:00Z', '2026-05-02T00:00:00Z']);
  });

  const issuesOf = (cron: string, zone: string) => {
    try {
      CronPlan.parse(cron, zone);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues;
    }
  };

  it('names the bad field', () => {
    expect(issuesOf('61 * * * *', 'UTC')).toEqual([{ path: '/cron', message: expect.stringContaining('Invalid value for minute') }]);
    expect(issuesOf('* * *', 'UTC')).toEqual([{ path: '/cron', message: expect.stringContaining('has 3 fields; give 5 fields') }]);
    expect(issuesOf('1 2 3 4 5 6 2027', 'UTC')).toEqual([{ path: '/cron', message: expect.stringContaining('5 fields') }]);
    expect(issuesOf('@reboot', 'UTC')).toEqual([{ path: '/cron', message: expect.any(String) }]);
    expect(issuesOf('0 0 30 2 *', 'UTC')).toEqual([{ path: '/cron', message: expect.stringContaining('matches no time') }]);
    expect(issuesOf('@hourly', 'Mars/Olympus')).toEqual([{ path: '/timezone', message: expect.stringContaining('not an IANA time zone') }]);
    expect(issuesOf('@hourly', '+01:00')).toEqual([{ path: '/timezone', message: expect.any(String) }]);
    expect(issuesOf('bad', 'nowhere')).toHaveLength(2);
    expect(issuesOf('@weekly', 'America/New_York')).toEqual([]);
    expect(issuesOf('*/15 9-17 * * MON-FRI', 'Europe/Berlin')).toEqual([]);
  });
});
