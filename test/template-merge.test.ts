import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import { applyTemplate, checkDefaults, mergePatch, type TemplateDefaults } from '../src/domain/template.js';

/** The merge rule of template submits (docs/templates.md), on its own. */

describe('mergePatch (RFC 7396)', () => {
  // The test cases of RFC 7396, Appendix A.
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  it.each(cases)('%j patched with %j is %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('changes neither input, and keeps a "__proto__" key as data', () => {
    const target = { a: { b: 1 } };
    const patch = JSON.parse('{"a":{"c":2},"__proto__":{"polluted":true}}');
    const out = mergePatch(target, patch) as Record<string, unknown>;
    expect(target).toEqual({ a: { b: 1 } });
    expect(out.a).toEqual({ b: 1, c: 2 });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
  });
});

describe('applyTemplate', () => {
  const NOW = Date.UTC(2026, 0, 1);
  const defaults: TemplateDefaults = { type: 'report', queue: 'reports', labels: { a: '1', b: '2' }, delayMs: 5000, expiresInMs: 60_000, payload: { x: 1 } };

  it('lets every field of the job win, adds labels up, and drops the reference', () => {
    const out = applyTemplate(defaults, { templateId: 't', templateVersion: 2, type: 'other', labels: { b: 'B', c: '3' }, priority: 1 }, NOW);
    expect(out).toEqual({
      type: 'other',
      queue: 'reports',
      priority: 1,
      labels: { a: '1', b: 'B', c: '3' },
      delayMs: 5000,
      payload: { x: 1 },
      expiresAt: new Date(NOW + 5000 + 60_000).toISOString(),
    });
  });

  it("takes the job's start time over the template's delay, and counts the expiry from it", () => {
    expect(applyTemplate(defaults, { runAt: '2026-02-01T00:00:00Z' }, NOW)).toMatchObject({ runAt: '2026-02-01T00:00:00Z', expiresAt: '2026-02-01T00:01:00.000Z' });
    const delayed = applyTemplate(defaults, { delayMs: 0 }, NOW);
    expect(delayed).toMatchObject({ delayMs: 0, expiresAt: new Date(NOW + 60_000).toISOString() });
    expect(applyTemplate(defaults, { expiresAt: '2027-01-01T00:00:00Z' }, NOW).expiresAt).toBe('2027-01-01T00:00:00Z');
  });

  it('leaves what is invalid for validation to name (labels that are not an object, an unreadable runAt)', () => {
    expect(applyTemplate(defaults, { labels: 'x' }, NOW).labels).toBe('x');
    const out = applyTemplate(defaults, { runAt: 'soon' }, NOW);
    expect(out.runAt).toBe('soon');
    expect(out.expiresAt).toBeUndefined();
  });
});

describe('applyTemplate without a delay', () => {
  const NOW = Date.UTC(2026, 0, 1);

  it('counts the expiry from now, and gives no payload or labels when neither side has them', () => {
    const out = applyTemplate({ type: 'report', expiresInMs: 1000 }, {}, NOW);
    expect(out).toEqual({ type: 'report', expiresAt: new Date(NOW + 1000).toISOString() });
  });
});

describe('checkDefaults', () => {
  const NOW = Date.UTC(2026, 0, 1);
  const paths = (input: unknown): string[] => {
    try {
      checkDefaults(input, NOW, { maxPayloadBytes: 1000 });
    } catch (err) {
      if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };

  it('takes the fields a template holds, as given', () => {
    const d = { type: 'report', queue: 'q', delayMs: 10, expiresInMs: 60_000, labels: { a: 'b' } };
    expect(checkDefaults(d, NOW, { maxPayloadBytes: 1000 })).toBe(d);
  });

  it('refuses what is not an object', () => {
    expect(paths(['report'])).toEqual(['/defaults: must be an object of job defaults, e.g. {"type":"email.send"}']);
  });

  it('says why a per-job field is not in a template, and names an unknown one', () => {
    expect(paths({ type: 'r', linkId: 'x', colour: 'red' })).toEqual([
      '/defaults/linkId: not part of a template: it correlates one request; give it when submitting',
      '/defaults/colour: unknown field',
    ]);
  });

  it.each([0, 1.5, '60s', 365 * 86_400_000 + 1])('refuses expiresInMs %j', (e) => {
    expect(paths({ type: 'r', expiresInMs: e })).toEqual([`/defaults/expiresInMs: must be a whole number from 1 to 31536000000 (got ${JSON.stringify(e)})`]);
  });

  it('checks the rest as a job, under /defaults', () => {
    expect(paths({ type: 'r', expiresInMs: 1, maxAttempts: 0 })).toEqual(['/defaults/maxAttempts: Expected integer to be greater or equal to 1 (got 0)']);
    expect(paths({ expiresInMs: 1 })).toEqual(['/defaults/type: required (or give templateId)']);
  });
});
