// Ingestion's pure parts: the rules as written in the config file, the router and the enricher.
// Every error names where it is: the entry in the file, or the field of the event.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigFile } from '../src/config/index.js';
import { EventRuleError, idempotencyKey, plan, RULE_LABEL } from '../src/domain/ingest/enricher.js';
import { route } from '../src/domain/ingest/router.js';
import { compileIngest, type IngestFile } from '../src/domain/ingest/rules.js';
import { ValidationError } from '../src/domain/errors.js';
import type { EventEnvelope } from '../src/ports/event-bus.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function event(over: Partial<EventEnvelope> = {}): EventEnvelope {
  return {
    specversion: '1.0',
    id: 'evt-1',
    type: 'com.acme.order.paid',
    source: 'urn:acme:shop',
    time: '2026-01-01T11:59:00Z',
    tenant: 'acme',
    linkId: null,
    data: { order: { id: 'o-42', total: 99.5, lines: [{ sku: 'A' }, { sku: 'B' }], region: 'eu', deliverAt: '2026-01-02T08:00:00Z' } },
    ...over,
  };
}

const rules = (file: IngestFile['rules']) => compileIngest({ rules: file }).rules;

/** The paths a compile error names. */
function configPaths(file: unknown): string[] {
  try {
    compileIngest(file as IngestFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => i.path);
  }
  throw new Error('expected a ValidationError');
}

function ruleError(fn: () => unknown): EventRuleError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EventRuleError);
    return err as EventRuleError;
  }
  throw new Error('expected an EventRuleError');
}

describe('ingest rules in the config file', () => {
  it('applies defaults: group docket-ingest, dead-letter topic ingest-dead-letters, payload = the whole data', () => {
    const c = compileIngest({ rules: [{ name: 'r', jobs: [{ type: 'echo' }] }] });
    expect(c).toMatchObject({ topics: [], groupId: 'docket-ingest', deadLetterTopic: 'ingest-dead-letters' });
    expect(c.rules[0]!.jobs[0]!.payload).toEqual({ kind: 'path', path: { text: 'data', segments: ['data'] }, optional: false });
  });

  it('names every bad entry by its path in the file', () => {
    const paths = configPaths({
      rules: [
        {
          name: 'a',
          match: { type: ['x', 'y'], 'data.n': { regex: '(' }, 'data.m': { oneOf: [] }, 'data.e': { exists: 'yes' }, 'nope.x': 1, 'data..x': 1, 'data.k': { is: 1 } },
          jobs: [{ type: 'echo', payload: { orderId: 'order.id', nested: { sku: 'data.lines.0.sku', bad: 5 } }, dedup: ['data.'], runAtFrom: 'data.at', delaySeconds: 5 }],
        },
        { name: 'a', jobs: [] },
      ],
    });
    expect(paths.sort()).toEqual(
      [
        '/ingest/rules/0/match/type',
        '/ingest/rules/0/match/data.n/regex',
        '/ingest/rules/0/match/data.m/oneOf',
        '/ingest/rules/0/match/data.e/exists',
        '/ingest/rules/0/match/nope.x',
        '/ingest/rules/0/match/data..x',
        '/ingest/rules/0/match/data.k',
        '/ingest/rules/0/jobs/0/payload/orderId',
        '/ingest/rules/0/jobs/0/payload/nested/bad',
        '/ingest/rules/0/jobs/0/dedup/0',
        '/ingest/rules/0/jobs/0/runAtFrom',
        '/ingest/rules/1/name',
      ].sort(),
    );
  });

  it('says what is wrong, readably', () => {
    expect(() => compileIngest({ rules: [{ name: 'r', jobs: [{ type: 'echo', payload: { orderId: 'order.id' } }] }] })).toThrow(
      '/ingest/rules/0/jobs/0/payload/orderId: path "order.id" must start with one of id, type, source, time, tenant, linkId, subject, data',
    );
    expect(() => compileIngest({ rules: [{ name: 'r', match: { type: ['a'] }, jobs: [] }] })).toThrow(/write \{"oneOf": \[\.\.\.\]\}/);
    expect(() => compileIngest({ rules: [{ name: 'r', match: { 'data.x': { regex: '[' } }, jobs: [] }] })).toThrow(/regex: not a regular expression/);
  });

  it('reports errors through the config file loader, naming the file and the path (schema and rule errors alike)', () => {
    const bad = (ingest: unknown) => () => parseConfigFile({ ingest }, 'docket.json');
    expect(bad({ rules: [{ name: 'r', jobs: [{ type: 'echo', priority: 11 }] }] })).toThrow(ConfigError);
    expect(bad({ rules: [{ name: 'r', jobs: [{ type: 'echo', priority: 11 }] }] })).toThrow(/^docket\.json: \/ingest\/rules\/0\/jobs\/0\/priority/);
    expect(bad({ rules: [{ name: 'r', jobs: [{ type: 'echo', colour: 'red' }] }] })).toThrow(/\/ingest\/rules\/0\/jobs\/0\/colour/);
    expect(bad({ rules: [{ name: 'r', jobs: [{ type: 'echo', payload: { x: 'data..y' } }] }] })).toThrow(
      'docket.json: /ingest/rules/0/jobs/0/payload/x: path "data..y" has an empty segment (two dots, or a dot at an end)',
    );
    expect(parseConfigFile({}).ingest).toBeNull();
    expect(parseConfigFile({ ingest: { topics: ['orders'], rules: [] } }).ingest).toMatchObject({ topics: ['orders'], rules: [] });
  });
});

describe('router', () => {
  const rs = rules([
    { name: 'paid', match: { type: 'com.acme.order.paid' }, jobs: [] },
    { name: 'eu', match: { 'data.order.region': { oneOf: ['eu', 'uk'] }, source: { regex: '^urn:acme:' } }, jobs: [] },
    { name: 'big', match: { 'data.order.total': { equals: 1000 } }, jobs: [] },
    { name: 'gift', match: { 'data.order.gift': { exists: true } }, jobs: [] },
    { name: 'not-gift', match: { 'data.order.gift': { exists: false } }, jobs: [] },
    { name: 'second-line', match: { 'data.order.lines.1.sku': 'B' }, jobs: [] },
    { name: 'any', jobs: [] },
  ]);

  it('takes every rule whose conditions all hold, in config order', () => {
    expect(route(event(), rs).matched.map((r) => r.name)).toEqual(['paid', 'eu', 'not-gift', 'second-line', 'any']);
  });

  it('says per rule which condition failed and why', () => {
    const { misses } = route(event({ type: 'other', source: 'urn:globex:x' }), rs);
    expect(misses).toEqual([
      { rule: 'paid', path: 'type', reason: 'is "other", wanted "com.acme.order.paid"' },
      { rule: 'eu', path: 'source', reason: 'is "urn:globex:x", which does not match /^urn:acme:/' },
      { rule: 'big', path: 'data.order.total', reason: 'is 99.5, wanted 1000' },
      { rule: 'gift', path: 'data.order.gift', reason: 'is missing' },
    ]);
  });

  it('compares JSON structurally, and a regex never matches a non-string', () => {
    const r = rules([
      { name: 'obj', match: { 'data.order.lines': { equals: [{ sku: 'A' }, { sku: 'B' }] } }, jobs: [] },
      { name: 're', match: { 'data.order.total': { regex: '99' } }, jobs: [] },
    ]);
    const { matched, misses } = route(event(), r);
    expect(matched.map((x) => x.name)).toEqual(['obj']);
    expect(misses[0]!.reason).toMatch(/not a string/);
  });
  it('says what a missing or unwanted field was checked for', () => {
    const r = rules([
      { name: 'eq', match: { 'data.order.coupon': { equals: 'FREE' } }, jobs: [] },
      { name: 'one', match: { 'data.order.coupon': { oneOf: ['A', 'B'] } }, jobs: [] },
      { name: 'one-bad', match: { 'data.order.region': { oneOf: ['us', 'ca'] } }, jobs: [] },
      { name: 're', match: { 'data.order.coupon': { regex: '^X' } }, jobs: [] },
      { name: 'absent', match: { 'data.order.region': { exists: false } }, jobs: [] },
    ]);
    expect(route(event(), r)).toEqual({
      matched: [],
      misses: [
        { rule: 'eq', path: 'data.order.coupon', reason: 'is missing; wanted "FREE"' },
        { rule: 'one', path: 'data.order.coupon', reason: 'is missing; wanted one of ["A","B"]' },
        { rule: 'one-bad', path: 'data.order.region', reason: 'is "eu", wanted one of ["us","ca"]' },
        { rule: 're', path: 'data.order.coupon', reason: 'is missing; wanted a match of /^X/' },
        { rule: 'absent', path: 'data.order.region', reason: 'is present ("eu") but must be absent' },
      ],
    });
  });
});

describe('enricher', () => {
  const paid = rules([
    {
      name: 'paid',
      jobs: [
        {
          type: 'invoice.send',
          queue: 'billing',
          priority: 2,
          expiresInSeconds: 3600,
          payload: { orderId: 'data.order.id', total: 'data.order.total', firstSku: 'data.order.lines.0.sku', note: 'data.order.note?', from: { source: 'source' } },
          dedup: ['data.order.id'],
        },
        { type: 'ship', delaySeconds: 60, maxAttempts: 5, labels: { team: 'ops' } },
        { type: 'remind', runAtFrom: 'data.order.deliverAt', expiresInSeconds: 60, payload: 'data.order' },
      ],
    },
  ]);

  it('sets queue, type, priority, expiry, due time, labels and the mapped payload', () => {
    const [invoice, ship, remind] = plan(event({ linkId: 'req-9' }), paid, NOW);
    expect(invoice!.input).toEqual({
      type: 'invoice.send',
      queue: 'billing',
      priority: 2,
      payload: { orderId: 'o-42', total: 99.5, firstSku: 'A', from: { source: 'urn:acme:shop' } },
      labels: { [RULE_LABEL]: 'paid' },
      expiresAt: new Date(NOW + 3600_000).toISOString(),
      linkId: 'req-9',
    });
    expect(ship!.input).toMatchObject({ type: 'ship', maxAttempts: 5, runAt: new Date(NOW + 60_000).toISOString(), labels: { team: 'ops', [RULE_LABEL]: 'paid' } });
    expect(ship!.input.payload).toEqual(event().data);
    // Due from the event, expiring relative to the due time.
    expect(remind!.input).toMatchObject({ runAt: '2026-01-02T08:00:00.000Z', expiresAt: '2026-01-02T08:01:00.000Z', payload: { id: 'o-42', region: 'eu' } });
    // No linkId on the event: the event id correlates its jobs.
    expect(plan(event(), paid, NOW)[0]!.input.linkId).toBe('evt-1');
  });

  it('keys each job by (rule, index, dedup values) or else the event: the same event twice gives the same keys', () => {
    const a = plan(event(), paid, NOW);
    const b = plan(event(), paid, NOW + 5000);
    expect(a.map((j) => j.idempotencyKey)).toEqual(b.map((j) => j.idempotencyKey));
    expect(new Set(a.map((j) => j.idempotencyKey)).size).toBe(3);
    // Another event id: the dedup job keeps its key (same order id), the others get new ones.
    const c = plan(event({ id: 'evt-2' }), paid, NOW);
    expect(c[0]!.idempotencyKey).toBe(a[0]!.idempotencyKey);
    expect(c[1]!.idempotencyKey).not.toBe(a[1]!.idempotencyKey);
    expect(a[0]!.idempotencyKey).toBe(idempotencyKey('paid', 0, ['fields', 'o-42']));
    expect(a[1]!.idempotencyKey).toMatch(/^ingest:[0-9a-f]{64}$/);
  });

  it('names the missing field of the event, and the rule and job that needed it', () => {
    const err = ruleError(() => plan(event({ data: { order: { total: 1, lines: [] } } }), paid, NOW));
    expect(err.issues).toEqual([
      { path: '/data/order/id', message: 'is missing; rule "paid" jobs[0] needs it for payload.orderId' },
      { path: '/data/order/lines/0/sku', message: 'is missing (data.order.lines.0 is not there); rule "paid" jobs[0] needs it for payload.firstSku' },
      { path: '/data/order/id', message: 'is missing; rule "paid" jobs[0] needs it for its dedup key' },
      { path: '/data/order/deliverAt', message: 'is missing; rule "paid" jobs[2] needs it for runAtFrom' },
    ]);
  });

  it('refuses a due time of the wrong type, naming the field', () => {
    const err = ruleError(() => plan(event({ data: { order: { id: 'o', total: 1, lines: [{ sku: 'A' }], deliverAt: 12345 } } }), paid, NOW));
    expect(err.issues).toEqual([{ path: '/data/order/deliverAt', message: 'is 12345, not an RFC 3339 time with a zone (e.g. 2026-01-31T09:00:00Z); rule "paid" jobs[2] takes its due time from it' }]);
  });

  it('validates each job as the API would: a payload over the limit names the event field it came from', () => {
    const r = rules([{ name: 'big', jobs: [{ type: 'echo', payload: 'data.blob' }] }]);
    const err = ruleError(() => plan(event({ data: { blob: 'x'.repeat(200) } }), r, NOW, { maxPayloadBytes: 100 }));
    expect(err.issues).toEqual([{ path: '/data/blob', message: expect.stringMatching(/^rule "big" jobs\[0\]: \/payload: 202 bytes of JSON, over the limit of 100 bytes/) }]);
    // The job's linkId comes from the event's linkId, else its id: both at most 128 characters.
    const long = ruleError(() => plan(event({ id: 'e'.repeat(200), data: { blob: 'x' } }), r, NOW));
    expect(long.issues).toEqual([{ path: '/id', message: expect.stringMatching(/^rule "big" jobs\[0\] makes a job that is not valid: \/linkId: /) }]);
    expect(ruleError(() => plan(event({ linkId: 'l'.repeat(200), data: { blob: 'x' } }), r, NOW)).issues[0]!.path).toBe('/linkId');
  });

  it('keeps an optional payload field the event has, and leaves it out when it has not', () => {
    const withNote = plan(event({ data: { order: { id: 'o', total: 1, lines: [{ sku: 'A' }], note: 'gift wrap', deliverAt: '2026-01-02T08:00:00Z' } } }), paid, NOW);
    expect(withNote[0]!.input.payload).toMatchObject({ note: 'gift wrap' });
    expect(plan(event(), paid, NOW)[0]!.input.payload).not.toHaveProperty('note');
  });

  it('refuses a due time without a zone: its instant would depend on the server\'s zone', () => {
    const err = ruleError(() => plan(event({ data: { order: { id: 'o', total: 1, lines: [{ sku: 'A' }], deliverAt: '2026-01-02T08:00:00' } } }), paid, NOW));
    expect(err.issues).toEqual([
      { path: '/data/order/deliverAt', message: 'is "2026-01-02T08:00:00", not an RFC 3339 time with a zone (e.g. 2026-01-31T09:00:00Z); rule "paid" jobs[2] takes its due time from it' },
    ]);
    const offset = plan(event({ data: { order: { id: 'o', total: 1, lines: [{ sku: 'A' }], deliverAt: '2026-01-02T09:30+01:00' } } }), paid, NOW);
    expect(offset[2]!.input.runAt).toBe('2026-01-02T08:30:00.000Z');
  });

  it('names the due-time field when the expiry it gives is out of range', () => {
    const r = rules([{ name: 'late', jobs: [{ type: 'remind', runAtFrom: 'data.at', expiresInSeconds: 3600 }] }]);
    const err = ruleError(() => plan(event({ data: { at: '9999-12-31T23:30:00Z' } }), r, NOW));
    expect(err.issues).toEqual([{ path: '/data/at', message: expect.stringMatching(/^rule "late" jobs\[0\] makes a job that is not valid: \/expiresAt: /) }]);
  });

  it('names /data for a mapped payload over the limit, and / in the message for a problem of the job itself', () => {
    const r = rules([{ name: 'big', jobs: [{ type: 'echo', payload: { a: 'data.blob', b: 'source' } }] }]);
    const err = ruleError(() => plan(event({ data: { blob: 'x'.repeat(200) } }), r, NOW, { maxPayloadBytes: 100 }));
    expect(err.issues).toEqual([{ path: '/data', message: expect.stringMatching(/^rule "big" jobs\[0\]: \/payload: \d+ bytes of JSON/) }]);
    expect(new EventRuleError([{ path: '', message: 'x' }]).message).toBe('/: x');
  });

  it('refuses an event whose tenant is not a tenant name', () => {
    expect(ruleError(() => plan(event({ tenant: 'a b' }), paid, NOW)).issues[0]).toMatchObject({ path: '/tenant' });
  });

  it('a rule with no jobs takes the event and makes nothing', () => {
    expect(plan(event(), rules([{ name: 'drop', jobs: [] }]), NOW)).toEqual([]);
  });
});
