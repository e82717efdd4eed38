import { describe, expect, it } from 'vitest';
import { applyTemplate, mergePatch, type TemplateDefaults } from '../src/domain/template.js';

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
