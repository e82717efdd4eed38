import type { ClaimFilter } from '../../ports/dispatch.js';

/** A claim waiting for work: the priorities it takes (bit p-1 for priority p), its filter, how to wake it. */
export interface Waiter {
  mask: number;
  filter: ClaimFilter | undefined;
  done: () => void;
}

/**
 * What arrived on a queue, as a wake message tells it: how many jobs per priority level (level 0:
 * any level, for freed tenant slots), and the tenant and type when all of them share one.
 */
export interface Arrival {
  counts: Record<string, number>;
  tenant?: string;
  type?: string;
}

const ALL_LEVELS = 1023;

/**
 * The claimers waiting on each queue of one process, oldest first, and the hand-off rule: an
 * arrival of n jobs wakes at most n of them, and only those that could take one (priority range,
 * tenant, types). A waiter whose filter the message cannot settle (labels, or a batch of mixed
 * tenants or types) is woken as well, without using up a job: its own look decides, so no job is
 * left behind a sleeping claimer that could take it.
 */
export class Waiters {
  private readonly byQueue = new Map<string, Set<Waiter>>();

  queues(): IterableIterator<string> {
    return this.byQueue.keys();
  }

  add(queue: string, waiter: Waiter): void {
    let set = this.byQueue.get(queue);
    if (!set) this.byQueue.set(queue, (set = new Set()));
    set.add(waiter);
  }

  delete(queue: string, waiter: Waiter): void {
    const set = this.byQueue.get(queue);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.byQueue.delete(queue);
  }

  /** Wakes every waiter of `queue` whose priorities meet `mask` (a reconnect: messages may be lost). */
  wakeAll(queue: string, mask = ALL_LEVELS): void {
    for (const w of [...(this.byQueue.get(queue) ?? [])]) if (w.mask & mask) w.done();
  }

  /** Everyone, everywhere (close). */
  wakeEveryone(): void {
    for (const queue of [...this.byQueue.keys()]) this.wakeAll(queue);
  }

  /** Hands the jobs of `arrival` on `queue` to as many waiters as there are jobs for them. */
  handOff(queue: string, arrival: Arrival): void {
    const set = this.byQueue.get(queue);
    if (!set) return;
    const left = new Map<number, number>();
    let total = 0;
    for (const [level, n] of Object.entries(arrival.counts)) {
      if (n > 0) left.set(Number(level), n);
      total += Math.max(0, n);
    }
    const levels = [...left.keys()].sort((a, b) => a - b);
    const arrived = levels.reduce((m, l) => m | levelBits(l), 0);
    for (const w of [...set]) {
      if (!(w.mask & arrived) || excluded(w.filter, arrival)) continue;
      if (!settled(w.filter, arrival)) {
        w.done();
        continue;
      }
      if (total <= 0) continue;
      const level = levels.find((l) => left.has(l) && w.mask & levelBits(l));
      if (level === undefined) continue;
      const n = left.get(level)! - 1;
      if (n > 0) left.set(level, n);
      else left.delete(level);
      total--;
      w.done();
    }
  }
}

/**
 * Reads a wake message's body: `{"c": {level: jobs}, "t": tenant, "y": type}`, or an older
 * sender's bare priority mask (a number). Anything else wakes every waiter: a lost wake-up would
 * leave jobs waiting, an extra one costs a look.
 */
export function parseArrival(body: string): Arrival | number {
  let wire: unknown;
  try {
    wire = JSON.parse(body);
  } catch {
    return ALL_LEVELS;
  }
  if (typeof wire === 'number' && Number.isInteger(wire) && wire > 0) return wire;
  const m = wire as { c?: unknown; t?: unknown; y?: unknown } | null;
  if (!m || typeof m !== 'object' || !m.c || typeof m.c !== 'object') return ALL_LEVELS;
  const counts: Record<string, number> = {};
  for (const [level, n] of Object.entries(m.c as Record<string, unknown>)) if (typeof n === 'number') counts[level] = n;
  const arrival: Arrival = { counts };
  if (typeof m.t === 'string') arrival.tenant = m.t;
  if (typeof m.y === 'string') arrival.type = m.y;
  return arrival;
}

function levelBits(level: number): number {
  return level === 0 ? ALL_LEVELS : 1 << (level - 1);
}

/** The arrival names a tenant or type this waiter's filter refuses. */
function excluded(filter: ClaimFilter | undefined, arrival: Arrival): boolean {
  if (!filter) return false;
  if (filter.tenant !== undefined && arrival.tenant !== undefined && filter.tenant !== arrival.tenant) return true;
  if (filter.types && arrival.type !== undefined && !filter.types.includes(arrival.type)) return true;
  return false;
}

/** Whether the message alone says this waiter can take the arrival (no labels, no unknown tenant or type). */
function settled(filter: ClaimFilter | undefined, arrival: Arrival): boolean {
  if (!filter) return true;
  if (filter.labels) return false;
  if (filter.tenant !== undefined && arrival.tenant === undefined) return false;
  if (filter.types && arrival.type === undefined) return false;
  return true;
}
