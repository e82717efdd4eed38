import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/domain/backoff.js';

const NUM_RUNS = 500;
const attempt = fc.integer({ min: 1, max: 80 });
const delayMs = fc.integer({ min: 1, max: 1_000_000 });
const random = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const jitter = fc.double({ min: 0, max: 1, noNaN: true });
const noJitter = () => {
  throw new Error('random must not be drawn without jitter');
};

describe('exponential backoff', () => {
  it('doubles from delayMs on each attempt until the cap, then stays at the cap', () => {
    fc.assert(
      fc.property(delayMs, fc.integer({ min: 0, max: 100_000_000 }), attempt, (d, extra, n) => {
        const b = { type: 'exponential' as const, delayMs: d, maxDelayMs: d + extra, jitter: 0 };
        expect(backoffDelay(b, 1, noJitter)).toBe(d);
        expect(backoffDelay(b, n, noJitter)).toBe(Math.min(d + extra, d * 2 ** (n - 1)));
        expect(backoffDelay(b, n + 1, noJitter)).toBe(Math.min(d + extra, 2 * backoffDelay(b, n, noJitter)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps jitter within +/- jitter of the capped delay, never above the cap, and follows the random draw', () => {
    fc.assert(
      fc.property(delayMs, fc.integer({ min: 0, max: 10_000_000 }), attempt, jitter, random, (d, extra, n, j, r) => {
        const cap = d + extra;
        const b = { type: 'exponential' as const, delayMs: d, maxDelayMs: cap, jitter: j };
        const raw = Math.min(cap, d * 2 ** Math.min(n - 1, 52));
        const got = backoffDelay(b, n, () => r);
        expect(got).toBeGreaterThanOrEqual(Math.floor(raw * (1 - j)) - 1);
        expect(got).toBeLessThanOrEqual(Math.min(cap, Math.ceil(raw * (1 + j)) + 1));
        expect(Number.isInteger(got)).toBe(true);
        // a larger draw never gives a shorter delay
        expect(backoffDelay(b, n, () => r + (1 - r) / 2)).toBeGreaterThanOrEqual(got);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('spreads retries: with jitter the lowest and highest draws differ', () => {
    const b = { type: 'exponential' as const, delayMs: 1000, maxDelayMs: 60_000 };
    expect(backoffDelay(b, 1, () => 0)).toBe(800); // default jitter 0.2
    expect(backoffDelay(b, 1, () => 0.5)).toBe(1000);
    expect(backoffDelay(b, 1, () => 0.999)).toBe(1200);
    expect(backoffDelay(b, 10, () => 0.999)).toBe(60_000); // capped
    expect(backoffDelay(b, 10, () => 0)).toBe(48_000);
  });
});

describe('fixed backoff', () => {
  it('waits delayMs on every attempt, or within +/- jitter of it', () => {
    fc.assert(
      fc.property(delayMs, attempt, jitter, random, (d, n, j, r) => {
        expect(backoffDelay({ type: 'fixed', delayMs: d }, n, noJitter)).toBe(d);
        const got = backoffDelay({ type: 'fixed', delayMs: d, jitter: j }, n, () => r);
        expect(got).toBeGreaterThanOrEqual(Math.floor(d * (1 - j)) - 1);
        expect(got).toBeLessThanOrEqual(Math.ceil(d * (1 + j)) + 1);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('custom backoff', () => {
  it('uses the n-th delay for retry n and repeats the last one after the list ends', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 20 }), attempt, (list, n) => {
        const b = { type: 'custom' as const, delaysMs: list };
        expect(backoffDelay(b, n, noJitter)).toBe(n <= list.length ? list[n - 1] : list.at(-1));
      }),
      { numRuns: NUM_RUNS },
    );
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay({ type: 'custom', delaysMs: [5, 50, 500] }, n, noJitter))).toEqual([5, 50, 500, 500, 500]);
  });

  it('treats an attempt below 1 as the first', () => {
    expect(backoffDelay({ type: 'custom', delaysMs: [7, 9] }, 0, noJitter)).toBe(7);
    expect(backoffDelay({ type: 'exponential', delayMs: 100, jitter: 0 }, -3, noJitter)).toBe(100);
  });
});
