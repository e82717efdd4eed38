// Dedup keys and windows (src/domain/dedup.ts): which jobs share a key, which rule applies, how
// long a key holds, and the rule field paths the config file may name. Jobs are built with
// toJobSpec, as a submit builds them.
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  dedupClaimOf,
  DEFAULT_DEDUP_TTL_SECONDS,
  fieldPathProblem,
  keyHolds,
  redirectDependencies,
  ruleFor,
  type DedupRule,
} from '../src/domain/dedup.js';
import { toJobSpec } from '../src/domain/job-input.js';

const NOW = Date.parse('2026-04-01T00:00:00Z');
const job = (input: Record<string, unknown>) => toJobSpec({ type: 'invoice.send', ...input }, NOW);
const keyOf = (input: Record<string, unknown>, rules: DedupRule[] = []) => dedupClaimOf(job(input), rules, NOW)?.key ?? null;

const byCustomer: DedupRule = { type: 'invoice.send', fields: ['payload.customer.id', 'labels.region'], ttlSeconds: 600 };

describe('dedupClaimOf', () => {
  it('makes no claim without a dedupKey or a rule for the type', () => {
    expect(dedupClaimOf(job({ payload: { customer: { id: 1 } } }), [], NOW)).toBeNull();
    expect(dedupClaimOf(job({}), [{ ...byCustomer, type: 'other' }], NOW)).toBeNull();
  });

  it("holds the job's own key for its dedupTtlSeconds, else the rule's, else a day", () => {
    expect(dedupClaimOf(job({ dedupKey: 'k', dedupTtlSeconds: 30 }), [byCustomer], NOW)!.expiresAt).toBe(NOW + 30_000);
    expect(dedupClaimOf(job({ dedupKey: 'k' }), [byCustomer], NOW)!.expiresAt).toBe(NOW + 600_000);
    expect(dedupClaimOf(job({ dedupKey: 'k' }), [], NOW)!.expiresAt).toBe(NOW + DEFAULT_DEDUP_TTL_SECONDS * 1000);
  });

  it("keys the job's own key by type: the same key for another type is another key; it wins over a rule", () => {
    const own = keyOf({ dedupKey: 'order-7' });
    expect(own).toMatch(/^job:[0-9a-f]{64}$/);
    expect(keyOf({ dedupKey: 'order-7', payload: { other: true } })).toBe(own);
    expect(dedupClaimOf({ ...job({ dedupKey: 'order-7' }), type: 'invoice.void' }, [], NOW)!.key).not.toBe(own);
    expect(keyOf({ dedupKey: 'order-7', payload: { customer: { id: 1 } } }, [byCustomer])).toBe(own);
  });

  it("keys by a rule's field values: equal values match whatever else differs, in any key order", () => {
    const a = keyOf({ payload: { customer: { id: 1, name: 'A' }, amount: 5 }, labels: { region: 'eu' } }, [byCustomer]);
    expect(a).toMatch(/^rule:[0-9a-f]{64}$/);
    expect(keyOf({ payload: { amount: 9, customer: { name: 'B', id: 1 } }, labels: { region: 'eu', x: 'y' } }, [byCustomer])).toBe(a);
    expect(keyOf({ payload: { customer: { id: 2 } }, labels: { region: 'eu' } }, [byCustomer])).not.toBe(a);
    expect(keyOf({ payload: { customer: { id: 1 } }, labels: { region: 'us' } }, [byCustomer])).not.toBe(a);
    expect(dedupClaimOf(job({ payload: { customer: { id: 1 } } }), [byCustomer], NOW)!.expiresAt).toBe(NOW + 600_000);
  });

  it('counts a missing field as null: jobs that both lack it share a key, one with null too', () => {
    const rule: DedupRule = { type: 'invoice.send', fields: ['payload.customer.id'], ttlSeconds: 60 };
    const missing = keyOf({ payload: { other: 1 } }, [rule]);
    expect(keyOf({ payload: { customer: 'not an object' } }, [rule])).toBe(missing);
    expect(keyOf({ payload: { customer: { id: null } } }, [rule])).toBe(missing);
    expect(keyOf({ payload: { customer: { id: 0 } } }, [rule])).not.toBe(missing);
  });

  it('reads array items by index, and queue and priority', () => {
    const rule: DedupRule = { type: 'invoice.send', fields: ['payload.lines.0.sku', 'queue', 'priority'], ttlSeconds: 60 };
    const first = keyOf({ payload: { lines: [{ sku: 'A' }, { sku: 'B' }] } }, [rule]);
    expect(keyOf({ payload: { lines: [{ sku: 'A' }, { sku: 'C' }] } }, [rule])).toBe(first);
    expect(keyOf({ payload: { lines: [{ sku: 'B' }, { sku: 'A' }] } }, [rule])).not.toBe(first);
    expect(keyOf({ payload: { lines: [{ sku: 'A' }] }, priority: 1 }, [rule])).not.toBe(first);
    expect(keyOf({ payload: { lines: [{ sku: 'A' }] }, queue: 'slow' }, [rule])).not.toBe(first);
  });

  it('keeps rules apart: the same values under another rule (other fields or queue) are another key', () => {
    const payload = { customer: { id: 1 } };
    const anyQueue: DedupRule = { type: 'invoice.send', fields: ['payload.customer.id'], ttlSeconds: 60 };
    const slowOnly: DedupRule = { ...anyQueue, queue: 'slow' };
    expect(keyOf({ payload, queue: 'slow' }, [anyQueue])).not.toBe(keyOf({ payload, queue: 'slow' }, [slowOnly]));
  });
});

describe('ruleFor', () => {
  const any: DedupRule = { type: 't', fields: ['queue'], ttlSeconds: 1 };
  const anyLater: DedupRule = { type: 't', fields: ['priority'], ttlSeconds: 2 };
  const slow: DedupRule = { type: 't', queue: 'slow', fields: ['queue'], ttlSeconds: 3 };

  it('prefers the rule naming the queue, else the first for any queue', () => {
    expect(ruleFor([any, slow], 't', 'slow')).toBe(slow);
    expect(ruleFor([any, anyLater, slow], 't', 'fast')).toBe(any);
    expect(ruleFor([slow], 't', 'fast')).toBeUndefined();
    expect(ruleFor([any], 'u', 'slow')).toBeUndefined();
  });
});

describe('fieldPathProblem', () => {
  it.each([
    ['payload.customer.id', null],
    ['labels.region', null],
    ['queue', null],
    ['priority', null],
    ['type', '"type" must start with payload. or labels., or be queue or priority'],
    ['queue.name', '"queue.name": queue has no fields below it'],
    ['priority.x', '"priority.x": priority has no fields below it'],
    ['payload', '"payload": name a field below payload, e.g. payload.id'],
    ['labels', '"labels": name a field below labels, e.g. labels.id'],
    ['payload..id', '"payload..id" has an empty segment'],
    ['labels.', '"labels." has an empty segment'],
  ])('%s: %s', (path, problem) => {
    expect(fieldPathProblem(path)).toBe(problem);
  });
});

describe('keyHolds', () => {
  it('holds while unexpired and the job is doing, will do or did its work', () => {
    expect(keyHolds(NOW + 1, 'running', NOW)).toBe(true);
    expect(keyHolds(NOW + 1, 'succeeded', NOW)).toBe(true);
    expect(keyHolds(NOW, 'running', NOW)).toBe(false);
    for (const state of ['failed', 'cancelled', 'expired']) expect(keyHolds(NOW + 1, state, NOW)).toBe(false);
    expect(keyHolds(NOW + 1, null, NOW)).toBe(false);
    expect(keyHolds(NOW + 1, undefined, NOW)).toBe(false);
  });
});

describe('redirectDependencies', () => {
  it('points dependents of a duplicate at the job that answered for it, copying only those', () => {
    type Job = { id: string; dependsOn?: string[] };
    const a: Job = { id: 'a' };
    const b: Job = { id: 'b', dependsOn: ['dup', 'x'] };
    const c: Job = { id: 'c', dependsOn: ['x'] };
    const out = redirectDependencies([a, b, c], new Map([['dup', 'holder']]));
    expect(out).toEqual([a, { id: 'b', dependsOn: ['holder', 'x'] }, c]);
    expect(out[0]).toBe(a);
    expect(out[2]).toBe(c);
    expect(b.dependsOn).toEqual(['dup', 'x']); // the input is not changed
    const none = [a, b];
    expect(redirectDependencies(none, new Map())).toEqual(none);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps arrays in order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
  });
});
