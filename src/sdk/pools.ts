import type { PriorityRange } from '../ports/dispatch.js';

/**
 * Worker concurrency: a number of slots, or slots per priority range (seed 000's consumer pools),
 * e.g. `{ "1-3": 16, "4-7": 6, "8-10": 2 }`. Each pool serves its own range first; when its range
 * has nothing ready it borrows work from any range, so no slot idles while work waits and no
 * range can take another range's slots.
 */
export type Concurrency = number | Record<string, number>;

export interface Pool {
  name: string;
  /** Absent: all priorities. */
  range?: PriorityRange;
  slots: number;
}

export function parsePools(concurrency: Concurrency): Pool[] {
  if (typeof concurrency === 'number') {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency: must be a whole number of at least 1 (got ${concurrency})`);
    return [{ name: 'all', slots: concurrency }];
  }
  const pools: Pool[] = [];
  for (const [key, slots] of Object.entries(concurrency)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(key.trim());
    const min = m ? Number(m[1]) : NaN;
    const max = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || min < 1 || max > 10 || min > max) {
      throw new Error(`concurrency["${key}"]: a pool key is a priority range like "1-3" or "5", within 1-10`);
    }
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`concurrency["${key}"]: slots must be a whole number of at least 1 (got ${slots})`);
    const clash = pools.find((p) => p.range && p.range.min <= max && min <= p.range.max);
    if (clash) throw new Error(`concurrency["${key}"]: overlaps the range "${clash.name}"`);
    pools.push({ name: key, range: { min, max }, slots });
  }
  if (pools.length === 0) throw new Error('concurrency: give at least one pool');
  return pools.sort((a, b) => a.range!.min - b.range!.min);
}
