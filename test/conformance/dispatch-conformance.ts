import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import type { DispatchEntry } from '../../src/domain/job.js';
import type { Dispatch, FairnessPolicy } from '../../src/ports/dispatch.js';
import { fairnessPolicy, type FairnessConfig } from '../../src/domain/fairness.js';
import { settles } from '../helpers/process.js';

export interface OpenedDispatch {
  dispatch: Dispatch;
  /** The clock `dispatch` times its waits with: the timeout tests move it. */
  clock: ManualClock;
  /**
   * Opens another instance over the same state, as another process would. Adapters whose state
   * lives in one process (memory) leave it out and the cross-instance tests are skipped.
   */
  peer?: () => Promise<Dispatch>;
  /** Releases the backing state. The suite has closed every instance by then. */
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
/** How long a wake-up may take before a test calls it lost: generous, CI machines stall. */
const PROMPT_MS = 1_000;

/** A ready entry; ids are UUIDv7 made in call order, so they sort by submission. */
function entry(over: Partial<DispatchEntry> = {}): DispatchEntry {
  return { id: uuidv7(), queue: 'q', tenant: 't0', priority: 5, dueAt: T0, ...over };
}

/** The order the port promises: priority, then due time, then submission (id). */
function byOrder(a: DispatchEntry, b: DispatchEntry): number {
  return a.priority - b.priority || a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const ids = (entries: readonly DispatchEntry[]) => entries.map((e) => e.id);

/** Takes everything ready on `queues`, `batch` at a time. */
async function drain(d: Dispatch, queues: string[], batch = 7): Promise<DispatchEntry[]> {
  const out: DispatchEntry[] = [];
  for (;;) {
    const got = await d.take({ queues, max: batch });
    if (got.length === 0) return out;
    out.push(...got);
  }
}

function shuffle<T>(items: T[]): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * The Dispatch port's contract, written only against the port: every adapter (memory, redis)
 * runs it. `open` returns a fresh, empty dispatch.
 */
export function describeDispatchConformance(name: string, open: (fairness?: FairnessPolicy) => Promise<OpenedDispatch>): void {
  describe(`Dispatch conformance: ${name}`, () => {
    let opened: OpenedDispatch | undefined;
    let peers: Dispatch[] = [];
    const d = () => opened!.dispatch;
    const openPeer = async () => {
      const p = await opened!.peer!();
      peers.push(p);
      return p;
    };
    /**
     * The positive marker before "still waiting" is a finding: a waiter that comes later, on a
     * queue with ready work, resolves. An instance looks for its waiters in the order they came
     * (memory: at once; Redis: one connection, replies in order), so by then it has looked for
     * every earlier waiter too, and found nothing for those still pending.
     */
    const looked = async (dispatch: Dispatch) => {
      const queue = `looked-${uuidv7()}`;
      await d().enqueue([entry({ queue })]);
      expect(await settles(dispatch.waitForWork([queue], 60_000), PROMPT_MS), 'the marker waiter, on a queue with work').toBe(true);
    };
    const itWithPeer = (title: string, fn: () => Promise<void>) =>
      it(title, async (ctx) => {
        if (!opened!.peer) return ctx.skip();
        await fn();
      });

    beforeEach(async () => {
      opened = await open();
      peers = [];
    });
    afterEach(async () => {
      for (const p of peers) await p.close();
      await opened?.dispatch.close();
      await opened?.cleanup();
      opened = undefined;
    });

    describe('take order', () => {
      it('takes by priority (1 first), then due time, then submission order', async () => {
        const made = Array.from({ length: 300 }, (_, i) => entry({ priority: 1 + (i % 10), dueAt: T0 + ((i * 7) % 5) * 1000 }));
        const shuffled = shuffle(made);
        for (let i = 0; i < shuffled.length; i += 40) await d().enqueue(shuffled.slice(i, i + 40));
        const taken = await drain(d(), ['q']);
        expect(ids(taken)).toEqual(ids(made.slice().sort(byOrder)));
      });

      it('a later due time never outweighs a higher priority', async () => {
        const old = entry({ priority: 2, dueAt: T0 });
        const urgent = entry({ priority: 1, dueAt: T0 + 10 * 365 * 86_400_000 });
        await d().enqueue([old, urgent]);
        expect(ids(await d().take({ queues: ['q'], max: 2 }))).toEqual([urgent.id, old.id]);
      });

      it('at equal priority and due time, takes in submission (id) order whatever the enqueue order', async () => {
        const made = Array.from({ length: 50 }, () => entry());
        await d().enqueue(made.slice().reverse());
        expect(ids(await d().take({ queues: ['q'], max: 50 }))).toEqual(ids(made));
      });

      it('hands entries back with every field intact', async () => {
        const e = entry({ queue: 'mail.eu-west', tenant: 'acme:gold', priority: 3, dueAt: T0 + 1234 });
        await d().enqueue([e]);
        expect(await d().take({ queues: ['mail.eu-west'], max: 1 })).toEqual([e]);
      });
    });

    describe('take', () => {
      it('returns at most max, removes what it returns, and [] when empty', async () => {
        const made = Array.from({ length: 10 }, () => entry());
        await d().enqueue(made);
        expect(ids(await d().take({ queues: ['q'], max: 4 }))).toEqual(ids(made.slice(0, 4)));
        expect(await d().readyCount('q')).toBe(6);
        expect(ids(await d().take({ queues: ['q'], max: 100 }))).toEqual(ids(made.slice(4)));
        expect(await d().take({ queues: ['q'], max: 5 })).toEqual([]);
        expect(await d().take({ queues: ['nobody'], max: 5 })).toEqual([]);
        expect(await d().readyCount('q')).toBe(0);
      });

      it('takes only priorities inside the range, bounds included', async () => {
        const made = Array.from({ length: 30 }, (_, i) => entry({ priority: 1 + (i % 10) }));
        await d().enqueue(made);
        const taken = await d().take({ queues: ['q'], max: 100, range: { min: 2, max: 4 } });
        expect(ids(taken)).toEqual(ids(made.filter((e) => e.priority >= 2 && e.priority <= 4).sort(byOrder)));
        expect(await d().take({ queues: ['q'], max: 100, range: { min: 2, max: 4 } })).toEqual([]);
        const sevens = await d().take({ queues: ['q'], max: 100, range: { min: 7, max: 7 } });
        expect(sevens.map((e) => e.priority)).toEqual([7, 7, 7]);
        expect(await d().readyCount('q')).toBe(30 - 9 - 3);
        expect(ids(await drain(d(), ['q']))).toEqual(ids(made.filter((e) => ![2, 3, 4, 7].includes(e.priority)).sort(byOrder)));
      });

      it('takes from several queues at once: priority first across them, each queue in order, max in total', async () => {
        const a = Array.from({ length: 12 }, (_, i) => entry({ queue: 'a', priority: 1 + (i % 4), dueAt: T0 + i }));
        const b = Array.from({ length: 12 }, (_, i) => entry({ queue: 'b', priority: 1 + ((i + 2) % 4), dueAt: T0 + i }));
        const c = Array.from({ length: 5 }, () => entry({ queue: 'c', priority: 1 }));
        await d().enqueue(shuffle([...a, ...b, ...c]));
        const first = await d().take({ queues: ['a', 'b'], max: 10 });
        expect(first).toHaveLength(10);
        const rest = await drain(d(), ['a', 'b'], 5);
        const taken = [...first, ...rest];
        const priorities = taken.map((e) => e.priority);
        expect(priorities).toEqual(priorities.slice().sort((x, y) => x - y));
        expect(ids(taken.filter((e) => e.queue === 'a'))).toEqual(ids(a.slice().sort(byOrder)));
        expect(ids(taken.filter((e) => e.queue === 'b'))).toEqual(ids(b.slice().sort(byOrder)));
        expect(await d().readyCount('c')).toBe(5);
      });

      it('many queues take turns: every queue gives one entry before any gives a second, across takes', async () => {
        const names = Array.from({ length: 60 }, (_, i) => `q${String(i).padStart(2, '0')}`);
        await d().enqueue(names.flatMap((queue) => Array.from({ length: 5 }, () => entry({ queue }))));
        const taken: DispatchEntry[] = [];
        for (let i = 0; i < 30; i++) taken.push(...(await d().take({ queues: names, max: 4 })));
        expect(taken).toHaveLength(120);
        // Two rounds of 60: each queue exactly once in each.
        expect(new Set(taken.slice(0, 60).map((e) => e.queue)).size).toBe(60);
        expect(new Set(taken.slice(60, 120).map((e) => e.queue)).size).toBe(60);
      });

      it('a large take over few queues shares it between them', async () => {
        await d().enqueue([...Array.from({ length: 50 }, () => entry({ queue: 'a' })), ...Array.from({ length: 50 }, () => entry({ queue: 'b' }))]);
        const taken = await d().take({ queues: ['a', 'b'], max: 40 });
        expect(taken.filter((e) => e.queue === 'a')).toHaveLength(20);
        expect(taken.filter((e) => e.queue === 'b')).toHaveLength(20);
      });

      it('a queue emptied at one priority and filled again there is served again, in a take over many queues', async () => {
        const names = Array.from({ length: 20 }, (_, i) => `q${i}`);
        await d().enqueue([entry({ queue: 'q3', priority: 2 }), entry({ queue: 'q3', priority: 7 }), entry({ queue: 'q17', priority: 7 })]);
        expect((await d().take({ queues: names, max: 1 })).map((e) => [e.queue, e.priority])).toEqual([['q3', 2]]);
        await d().enqueue([entry({ queue: 'q3', priority: 2 }), entry({ queue: 'q9', priority: 1 })]);
        const taken = await d().take({ queues: names, max: 10 });
        // The next take starts after the queue served last (q3): q17 comes before q3 at priority 7.
        expect(taken.map((e) => [e.queue, e.priority])).toEqual([['q9', 1], ['q3', 2], ['q17', 7], ['q3', 7]]);
        expect(await d().take({ queues: names, max: 10 })).toEqual([]);
      });

      it('a range applies to every queue of a multi-queue take', async () => {
        await d().enqueue([entry({ queue: 'a', priority: 1 }), entry({ queue: 'b', priority: 9 }), entry({ queue: 'b', priority: 2 })]);
        const taken = await d().take({ queues: ['a', 'b'], max: 10, range: { min: 2, max: 10 } });
        expect(taken.map((e) => [e.queue, e.priority])).toEqual([['b', 2], ['b', 9]]);
        expect(await d().readyCount('a')).toBe(1);
      });
    });

    describe('schedule, takeDue and nextDueAt', () => {
      it('holds delayed entries out of the ready index until takeDue hands them out, earliest first', async () => {
        expect(await d().nextDueAt()).toBeNull();
        expect(await d().takeDue(T0 + 10_000, 10)).toEqual([]);
        const late = entry({ dueAt: T0 + 300 });
        const early = entry({ dueAt: T0 + 100 });
        const mid = entry({ dueAt: T0 + 200, priority: 1 });
        const midTwin = entry({ dueAt: T0 + 200, priority: 9 });
        await d().schedule([late, midTwin, early, mid].map((e) => ({ ...e })));
        expect(await d().nextDueAt()).toBe(T0 + 100);
        expect(await d().readyCount('q')).toBe(0);
        expect(await d().take({ queues: ['q'], max: 10 })).toEqual([]);

        expect(await d().takeDue(T0 + 99, 10)).toEqual([]);
        expect(await d().takeDue(T0 + 150, 10)).toEqual([early]);
        expect(await d().nextDueAt()).toBe(T0 + 200);
        // Equal due times come out in submission order; max is respected; due exactly now counts.
        expect(await d().takeDue(T0 + 200, 1)).toEqual([mid]);
        expect(await d().takeDue(T0 + 200, 10)).toEqual([midTwin]);
        expect(await d().nextDueAt()).toBe(T0 + 300);
        expect(await d().takeDue(T0 + 10_000, 10)).toEqual([late]);
        expect(await d().nextDueAt()).toBeNull();
      });

      it('takeDue never returns ready entries', async () => {
        await d().enqueue([entry({ dueAt: T0 - 1000 })]);
        expect(await d().takeDue(T0, 10)).toEqual([]);
        expect(await d().nextDueAt()).toBeNull();
      });
    });

    describe('remove', () => {
      it('forgets ids wherever they are and ignores unknown ones', async () => {
        const [r1, r2] = [entry(), entry()];
        const [s1, s2] = [entry({ dueAt: T0 + 10 }), entry({ dueAt: T0 + 20 })];
        await d().enqueue([r1!, r2!]);
        await d().schedule([s1!, s2!]);
        await d().remove([r1!.id, s1!.id, uuidv7()]);
        expect(await d().readyCount('q')).toBe(1);
        expect(await d().nextDueAt()).toBe(T0 + 20);
        expect(await d().take({ queues: ['q'], max: 10 })).toEqual([r2]);
        expect(await d().takeDue(T0 + 100, 10)).toEqual([s2]);
        await d().remove([]);
      });

      it('removes large batches', async () => {
        const made = Array.from({ length: 2_500 }, (_, i) => entry({ queue: i % 2 ? 'a' : 'b' }));
        await d().enqueue(made);
        await d().remove(ids(made.slice(0, 2_400)));
        expect((await d().readyCount('a')) + (await d().readyCount('b'))).toBe(100);
        const left = await drain(d(), ['a', 'b'], 1000);
        expect(ids(left).sort()).toEqual(ids(made.slice(2_400)).sort());
      });
    });

    describe('repair support: missing and the rebuilt marker', () => {
      it('names the ids it holds neither ready nor delayed', async () => {
        const ready = entry();
        const delayed = entry({ dueAt: T0 + 60_000 });
        const taken = entry();
        const never = entry();
        await d().enqueue([ready, taken]);
        await d().schedule([delayed]);
        await d().take({ queues: [taken.queue], max: 10 });
        await d().enqueue([ready]);
        expect((await d().missing([ready.id, delayed.id, taken.id, never.id])).sort()).toEqual([taken.id, never.id].sort());
        expect(await d().missing([])).toEqual([]);
      });

      it('starts without a rebuilt marker and keeps the one it is given', async () => {
        expect(await d().rebuiltAs()).toBeNull();
        await d().markRebuilt('r1');
        expect(await d().rebuiltAs()).toBe('r1');
      });
    });

    describe('placesOf: where each id is held', () => {
      it('answers ready, delayed or nowhere per id, in order, and follows every move', async () => {
        const ready = entry({ priority: 3, type: 'mail', labels: { region: 'eu' } });
        const delayed = entry({ dueAt: T0 + 60_000 });
        const taken = entry({ tenant: 't9' });
        const removed = entry();
        const due = entry({ dueAt: T0 + 10 });
        const never = uuidv7();
        await d().enqueue([ready, taken, removed]);
        await d().schedule([delayed, due]);
        await d().take({ queues: [taken.queue], max: 1, filter: { tenant: 't9' } });
        await d().remove([removed.id]);
        await d().takeDue(T0 + 10, 10);
        expect(await d().placesOf([ready.id, delayed.id, taken.id, removed.id, due.id, never])).toEqual([['ready'], ['delayed'], [], [], [], []]);
        // Moves between the two places leave the id in one of them only.
        await d().schedule([{ ...ready, dueAt: T0 + 5 }]);
        await d().enqueue([{ ...delayed, dueAt: T0 }]);
        expect(await d().placesOf([ready.id, delayed.id])).toEqual([['delayed'], ['ready']]);
        expect(await d().placesOf([])).toEqual([]);
      });

      it('answers for large batches', async () => {
        const made = Array.from({ length: 2_500 }, (_, i) => entry({ queue: i % 2 ? 'a' : 'b', dueAt: T0 + (i % 3) }));
        await d().enqueue(made.slice(0, 1_200));
        await d().schedule(made.slice(1_200, 2_000));
        const places = await d().placesOf(ids(made));
        expect(places.slice(0, 1_200).every((p) => p.length === 1 && p[0] === 'ready')).toBe(true);
        expect(places.slice(1_200, 2_000).every((p) => p.length === 1 && p[0] === 'delayed')).toBe(true);
        expect(places.slice(2_000).every((p) => p.length === 0)).toBe(true);
      });
    });

    describe('re-indexing an id moves it, never duplicates it', () => {
      it('enqueue of a ready id moves it to its new queue, priority and due time', async () => {
        const e = entry({ queue: 'a', priority: 5 });
        const other = entry({ queue: 'b', priority: 3 });
        await d().enqueue([e, other]);
        const moved = { ...e, queue: 'b', priority: 2, dueAt: T0 + 50 };
        await d().enqueue([moved]);
        expect(await d().readyCount('a')).toBe(0);
        expect(await d().readyCount('b')).toBe(2);
        expect(await d().take({ queues: ['a'], max: 10 })).toEqual([]);
        expect(await d().take({ queues: ['b'], max: 10 })).toEqual([moved, other]);
      });

      it('the same id twice in one batch is indexed once, as the last one says', async () => {
        const e = entry({ priority: 5 });
        const rival = entry({ priority: 3 });
        await d().enqueue([e, rival, { ...e, priority: 1 }]);
        expect(await d().readyCount('q')).toBe(2);
        expect(ids(await d().take({ queues: ['q'], max: 10 }))).toEqual([e.id, rival.id]);
      });

      it('enqueue of a delayed id makes it ready; schedule of a ready id delays it', async () => {
        const delayed = entry({ dueAt: T0 + 100 });
        const ready = entry();
        await d().schedule([delayed]);
        await d().enqueue([ready]);
        await d().enqueue([{ ...delayed, dueAt: T0 }]);
        await d().schedule([{ ...ready, dueAt: T0 + 500 }]);
        expect(await d().nextDueAt()).toBe(T0 + 500);
        expect(await d().readyCount('q')).toBe(1);
        expect(ids(await d().take({ queues: ['q'], max: 10 }))).toEqual([delayed.id]);
        expect(ids(await d().takeDue(T0 + 1000, 10))).toEqual([ready.id]);
        expect(await d().takeDue(T0 + 1000, 10)).toEqual([]);
      });

      it('schedule of a delayed id moves its due time', async () => {
        const e = entry({ dueAt: T0 + 100 });
        await d().schedule([e]);
        await d().schedule([{ ...e, dueAt: T0 + 900 }]);
        expect(await d().nextDueAt()).toBe(T0 + 900);
        expect(await d().takeDue(T0 + 500, 10)).toEqual([]);
        expect(ids(await d().takeDue(T0 + 900, 10))).toEqual([e.id]);
      });
    });

    describe('readyCount', () => {
      it('counts ready entries per queue', async () => {
        expect(await d().readyCount('a')).toBe(0);
        await d().enqueue([entry({ queue: 'a' }), entry({ queue: 'a' }), entry({ queue: 'b' })]);
        await d().schedule([entry({ queue: 'a', dueAt: T0 + 100 })]);
        expect(await d().readyCount('a')).toBe(2);
        expect(await d().readyCount('b')).toBe(1);
        await d().take({ queues: ['a'], max: 1 });
        expect(await d().readyCount('a')).toBe(1);
      });
    });

    describe('waitForWork', () => {
      it('resolves at once when work is already ready on one of the queues', async () => {
        await d().enqueue([entry({ queue: 'b' })]);
        expect(await settles(d().waitForWork(['a', 'b'], 60_000), PROMPT_MS)).toBe(true);
      });

      it('resolves promptly on an enqueue to one of its queues, not on other queues', async () => {
        const waiting = d().waitForWork(['a', 'b'], 60_000);
        const onC = d().waitForWork(['c'], 60_000);
        await d().enqueue([entry({ queue: 'c' })]);
        // The enqueue to c has been heard (c's waiter woke): only then is "not woken" a finding.
        expect(await settles(onC, PROMPT_MS)).toBe(true);
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry({ queue: 'b' })]);
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
      });

      it('with a range, ready work of other priorities does not count', async () => {
        await d().enqueue([entry({ priority: 9 })]);
        const waiting = d().waitForWork(['q'], 60_000, undefined, { min: 1, max: 3 });
        // A later waiter whose range takes the job resolves: the dispatch has looked at the ready
        // work for both (in order), and only then is "not woken" a finding.
        expect(await settles(d().waitForWork(['q'], 60_000, undefined, { min: 9, max: 9 }), PROMPT_MS)).toBe(true);
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry({ priority: 3 })]);
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
      });

      it('resolves when the timeout passes', async () => {
        const waiting = d().waitForWork(['q'], 5_000);
        const sooner = d().waitForWork(['q'], 4_000);
        opened!.clock.advance(4_000);
        // The 4 s timeout has fired: only then is "the 5 s one has not" a finding.
        expect(await settles(sooner, PROMPT_MS)).toBe(true);
        expect(await settles(waiting, 0)).toBe(false);
        opened!.clock.advance(1_000);
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
      });

      it('resolves on abort, and at once for an aborted signal', async () => {
        const controller = new AbortController();
        const waiting = d().waitForWork(['q'], 60_000, controller.signal);
        await looked(d());
        expect(await settles(waiting, 0)).toBe(false);
        controller.abort();
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
        expect(await settles(d().waitForWork(['q'], 60_000, controller.signal), PROMPT_MS)).toBe(true);
      });

      it('resolves pending waits on close, and never rejects', async () => {
        const waits = [d().waitForWork(['q'], 60_000), d().waitForWork(['q', 'r'], 60_000, undefined, { min: 2, max: 2 })];
        await looked(d());
        expect(await settles(Promise.race(waits), 0)).toBe(false);
        await d().close();
        await expect(Promise.all(waits)).resolves.toEqual([undefined, undefined]);
      });

      itWithPeer('wakes a waiter of another instance promptly (how another process wakes an idle worker)', async () => {
        const other = await openPeer();
        const waiting = other.waitForWork(['q'], 60_000);
        await looked(other);
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry()]);
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
        // The other instance sees the same work.
        expect(await other.readyCount('q')).toBe(1);
      });

      itWithPeer('across instances, a range still filters what wakes', async () => {
        const other = await openPeer();
        const waiting = other.waitForWork(['q'], 60_000, undefined, { min: 1, max: 2 });
        const onEight = other.waitForWork(['q'], 60_000, undefined, { min: 8, max: 8 });
        await d().enqueue([entry({ priority: 8 })]);
        // The enqueue has reached the other instance (its priority-8 waiter woke): only then is
        // "not woken" a finding.
        expect(await settles(onEight, PROMPT_MS)).toBe(true);
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry({ priority: 2 })]);
        expect(await settles(waiting, PROMPT_MS)).toBe(true);
      });
    });

    describe('hand-off: a new job wakes as many waiting claimers as it can serve, the right ones', () => {
      /** Registers waiters one after another (oldest first) and checks, once the dispatch has looked for them, that none woke. */
      const waitersOn = async (dispatch: Dispatch, filters: Parameters<Dispatch['waitForWork']>[3][] | number, queue = 'q') => {
        const list = typeof filters === 'number' ? Array.from({ length: filters }, () => undefined) : filters;
        const woken: boolean[] = [];
        const waits = list.map((range, i) => {
          woken[i] = false;
          return dispatch.waitForWork([queue], 60_000, undefined, range).then(() => void (woken[i] = true));
        });
        await looked(dispatch);
        expect(await settles(Promise.race(waits), 0)).toBe(false);
        return { woken, waits };
      };

      it('n new jobs wake at most n of the waiting claimers, oldest first', async () => {
        const { woken, waits } = await waitersOn(d(), 10);
        await d().enqueue([entry()]);
        expect(await settles(waits[0]!, PROMPT_MS)).toBe(true);
        await settles(Promise.resolve(), 0);
        expect(woken).toEqual([true, false, false, false, false, false, false, false, false, false]);
        await d().enqueue([entry(), entry(), entry()]);
        expect(await settles(Promise.all(waits.slice(1, 4)), PROMPT_MS)).toBe(true);
        await settles(Promise.resolve(), 0);
        expect(woken.filter(Boolean)).toHaveLength(4);
        expect(woken.slice(0, 4)).toEqual([true, true, true, true]);
      });

      it('wakes the claimer whose priority range takes the job, not older ones whose range does not', async () => {
        const { woken, waits } = await waitersOn(d(), [{ min: 1, max: 2 }, { min: 1, max: 2 }, { min: 7, max: 9 }, { min: 7, max: 9 }]);
        await d().enqueue([entry({ priority: 8 })]);
        expect(await settles(waits[2]!, PROMPT_MS)).toBe(true);
        await settles(Promise.resolve(), 0);
        expect(woken).toEqual([false, false, true, false]);
      });

      it('wakes a claimer whose filter takes the job, not older ones whose type or tenant filter refuses it', async () => {
        const woken = [false, false, false];
        const waits = [
          d().waitForWork(['q'], 60_000, undefined, undefined, { types: ['a'] }),
          d().waitForWork(['q'], 60_000, undefined, undefined, { tenant: 'x' }),
          d().waitForWork(['q'], 60_000),
        ].map((p, i) => p.then(() => void (woken[i] = true)));
        await looked(d());
        expect(await settles(Promise.race(waits), 0)).toBe(false);
        await d().enqueue([entry({ type: 'b', tenant: 'y' })]);
        expect(await settles(waits[2]!, PROMPT_MS)).toBe(true);
        await settles(Promise.resolve(), 0);
        expect(woken).toEqual([false, false, true]);
      });

      itWithPeer('across instances, each instance wakes no more of its waiters than there are new jobs', async () => {
        const other = await openPeer();
        const { woken, waits } = await waitersOn(other, 10);
        const marker = other.waitForWork(['marker'], 60_000);
        await looked(other);
        expect(await settles(marker, 0)).toBe(false);
        await d().enqueue([entry(), entry()]);
        expect(await settles(Promise.all(waits.slice(0, 2)), PROMPT_MS)).toBe(true);
        // Messages reach the other instance in order: once the marker's wake is heard, every wake
        // of the two jobs has been too.
        await d().enqueue([entry({ queue: 'marker' })]);
        expect(await settles(marker, PROMPT_MS)).toBe(true);
        expect(woken.filter(Boolean)).toHaveLength(2);
      });
    });

    describe('onDueChanged', () => {
      it('fires when the earliest due time moves earlier, not for later entries, not after unsubscribing', async () => {
        let calls = 0;
        const off = d().onDueChanged(() => calls++);
        await d().schedule([entry({ dueAt: T0 + 500 })]);
        expect(calls).toBe(1);
        await d().schedule([entry({ dueAt: T0 + 900 })]);
        expect(calls).toBe(1);
        await d().schedule([entry({ dueAt: T0 + 100 })]);
        expect(calls).toBe(2);
        off();
        await d().schedule([entry({ dueAt: T0 + 50 })]);
        expect(calls).toBe(2);
      });

      itWithPeer('fires on another instance when the earliest due time moves earlier there', async () => {
        const other = await openPeer();
        let fired!: () => void;
        const heard = new Promise<void>((resolve) => (fired = resolve));
        other.onDueChanged(() => fired());
        // The port gives no "listening now" signal: keep moving the due time earlier until heard.
        let dueAt = T0 + 1_000_000;
        for (let i = 0; i < 40 && !(await settles(heard, 0)); i++) {
          await d().schedule([entry({ dueAt: (dueAt -= 1000) })]);
          if (await settles(heard, 50)) break;
        }
        expect(await settles(heard, PROMPT_MS)).toBe(true);
        expect(await other.nextDueAt()).toBe(dueAt);
      });
    });

    describe('fairness between tenants (deficit round robin)', () => {
      /** Reopens the dispatch under `config` (the default one has no rules). */
      const reopen = async (config: FairnessConfig) => {
        await opened!.dispatch.close();
        await opened!.cleanup();
        opened = await open(fairnessPolicy(config));
      };
      const tenantsOf = (taken: readonly DispatchEntry[]) => taken.map((e) => e.tenant).join('');

      it('a tenant that queues 10 after another queued 100 has them all taken within 2 tenants x batch', async () => {
        const big = Array.from({ length: 100 }, () => entry({ tenant: 'A' }));
        await d().enqueue(big);
        const small = Array.from({ length: 10 }, () => entry({ tenant: 'B' }));
        await d().enqueue(small);
        const taken = await drain(d(), ['q'], 10);
        const lastB = taken.findLastIndex((e) => e.tenant === 'B');
        expect(lastB).toBeLessThan(2 * 10);
        expect(tenantsOf(taken.slice(0, 20))).toBe('AB'.repeat(10));
        // Each tenant's own entries keep their order.
        expect(ids(taken.filter((e) => e.tenant === 'A'))).toEqual(ids(big));
        expect(ids(taken.filter((e) => e.tenant === 'B'))).toEqual(ids(small));
      });

      it('turns carry over from one take to the next', async () => {
        for (const t of ['A', 'B', 'C']) await d().enqueue(Array.from({ length: 4 }, () => entry({ tenant: t })));
        const one = [];
        for (let i = 0; i < 9; i++) one.push(...(await d().take({ queues: ['q'], max: 1 })));
        expect(tenantsOf(one)).toBe('ABCABCABC');
      });

      it('weights 3:1 give shares of 3:1 under saturation', async () => {
        await reopen({ q: { tenants: { A: { weight: 3 } } } });
        await d().enqueue([...Array.from({ length: 400 }, () => entry({ tenant: 'A' })), ...Array.from({ length: 400 }, () => entry({ tenant: 'B' }))]);
        const taken: DispatchEntry[] = [];
        while (taken.length < 200) taken.push(...(await d().take({ queues: ['q'], max: 8 })));
        const a = taken.filter((e) => e.tenant === 'A').length;
        const b = taken.length - a;
        expect(a / b).toBeGreaterThan(3 * 0.95);
        expect(a / b).toBeLessThan(3 * 1.05);
      });

      it('priority stays strict across tenants', async () => {
        await d().enqueue(Array.from({ length: 50 }, () => entry({ tenant: 'A', priority: 5 })));
        const urgent = entry({ tenant: 'B', priority: 1 });
        await d().enqueue([urgent]);
        expect(ids(await d().take({ queues: ['q'], max: 1 }))).toEqual([urgent.id]);
      });

      it('a tenant at its cap is skipped until its jobs are released, and waiting for work ignores it', async () => {
        await reopen({ q: { tenants: { A: { maxRunning: 2 } } } });
        await d().enqueue(Array.from({ length: 10 }, () => entry({ tenant: 'A' })));
        await d().enqueue(Array.from({ length: 3 }, () => entry({ tenant: 'B' })));
        const first = await d().take({ queues: ['q'], max: 10 });
        expect(first.filter((e) => e.tenant === 'A')).toHaveLength(2);
        expect(first.filter((e) => e.tenant === 'B')).toHaveLength(3);
        expect(await d().take({ queues: ['q'], max: 10 })).toEqual([]);
        expect(await d().runningCounts(['q'])).toEqual([{ queue: 'q', tenant: 'A', running: 2 }]);
        // Only capped work is ready: a waiter does not return at once, a release wakes it.
        const waiting = d().waitForWork(['q'], 60_000);
        await looked(d());
        expect(await settles(waiting, 0)).toBe(false);
        await d().release([first.find((e) => e.tenant === 'A')!]);
        expect(await settles(waiting, 2_000)).toBe(true);
        const next = await d().take({ queues: ['q'], max: 10 });
        expect(next.map((e) => e.tenant)).toEqual(['A']);
        expect(await d().runningCounts(['q'])).toEqual([{ queue: 'q', tenant: 'A', running: 2 }]);
        await d().adjustRunning('q', 'A', -2);
        expect(await d().take({ queues: ['q'], max: 10 })).toHaveLength(2);
        expect(await d().readyCount('q')).toBe(5);
      });

      it('in a take over many queues, each queue keeps its own caps and weights, take after take', async () => {
        await reopen({ q3: { tenants: { A: { maxRunning: 1 } } }, q7: { tenants: { A: { weight: 3 } } } });
        const names = Array.from({ length: 10 }, (_, i) => `q${i}`);
        await d().enqueue(names.flatMap((queue) => Array.from({ length: 8 }, () => entry({ queue, tenant: 'A' }))));
        await d().enqueue(['q3', 'q7'].flatMap((queue) => Array.from({ length: 8 }, () => entry({ queue, tenant: 'B' }))));
        const taken: DispatchEntry[] = [];
        for (let i = 0; i < 12; i++) taken.push(...(await d().take({ queues: names, max: 7 })));
        const of = (queue: string, tenant: string) => taken.filter((e) => e.queue === queue && e.tenant === tenant).length;
        expect(of('q3', 'A')).toBe(1);
        expect(await d().runningCounts(['q3'])).toEqual([{ queue: 'q3', tenant: 'A', running: 1 }]);
        // q7 under weights 3:1, while both tenants wait: A's starts are three times B's.
        const q7 = taken.filter((e) => e.queue === 'q7').slice(0, 8);
        expect(tenantsOf(q7)).toBe('AAABAAAB');
      });

      it('a filtered take gets only matching entries, in order, and leaves the rest', async () => {
        const made = Array.from({ length: 30 }, (_, i) =>
          entry({ tenant: i % 2 ? 'A' : 'B', type: i % 3 === 0 ? 'mediaInfo' : 'thumbnail', ...(i % 5 === 0 ? { labels: { gpu: 'yes' } } : {}) }),
        );
        await d().enqueue(shuffle(made));
        const isMedia = (e: DispatchEntry) => e.type === 'mediaInfo';
        const media = await d().take({ queues: ['q'], max: 100, filter: { types: ['mediaInfo'] } });
        expect(ids(media).sort()).toEqual(ids(made.filter(isMedia)).sort());
        for (const t of ['A', 'B']) expect(ids(media.filter((e) => e.tenant === t))).toEqual(ids(made.filter((e) => isMedia(e) && e.tenant === t)));
        const gpu = await d().take({ queues: ['q'], max: 100, filter: { labels: { gpu: 'yes' } } });
        expect(ids(gpu).sort()).toEqual(ids(made.filter((e) => !isMedia(e) && e.labels?.gpu === 'yes')).sort());
        expect(gpu[0]).toEqual(made.find((e) => e.id === gpu[0]!.id)); // type and labels handed back
        expect(await d().take({ queues: ['q'], max: 100, filter: { types: ['mediaInfo'] } })).toEqual([]);
        expect(await d().readyCount('q')).toBe(30 - media.length - gpu.length);
        expect(await drain(d(), ['q'])).toHaveLength(30 - media.length - gpu.length);
      });

      it('a take for one tenant gets only its entries, in order, within its cap', async () => {
        await reopen({ q: { tenants: { A: { maxRunning: 6 } } } });
        const made = Array.from({ length: 40 }, (_, i) => entry({ tenant: ['A', 'B', 'C'][i % 3]!, priority: 1 + (i % 4), type: i % 2 ? 'x' : 'y' }));
        await d().enqueue(shuffle(made));
        const ofA = made.filter((e) => e.tenant === 'A').sort(byOrder);
        // Capped at 6 running: a tenant-bound take does not lift the cap.
        expect(ids(await d().take({ queues: ['q'], max: 100, filter: { tenant: 'A' } }))).toEqual(ids(ofA.slice(0, 6)));
        expect(await d().take({ queues: ['q'], max: 100, filter: { tenant: 'A' } })).toEqual([]);
        await d().adjustRunning('q', 'A', -6);
        const ofBx = made.filter((e) => e.tenant === 'B' && e.type === 'x').sort(byOrder);
        expect(ids(await d().take({ queues: ['q'], max: 100, filter: { tenant: 'B', types: ['x'] } }))).toEqual(ids(ofBx));
        expect(await d().take({ queues: ['q'], max: 100, filter: { tenant: 'nobody' } })).toEqual([]);
        // Everyone's takes go on with what is left; A again up to its cap.
        const taken = new Set([...ids(ofA.slice(0, 6)), ...ids(ofBx)]);
        const left = made.filter((e) => !taken.has(e.id));
        const rest = await drain(d(), ['q'], 3);
        expect(ids(rest.filter((e) => e.tenant !== 'A')).sort()).toEqual(ids(left.filter((e) => e.tenant !== 'A')).sort());
        expect(ids(rest.filter((e) => e.tenant === 'A'))).toEqual(ids(ofA.slice(6, 12)));
      });

      it('waiting for one tenant ignores other tenants\' ready work', async () => {
        await d().enqueue([entry({ tenant: 'B' })]);
        const waiting = d().waitForWork(['q'], 60_000, undefined, undefined, { tenant: 'A' });
        await looked(d());
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry({ tenant: 'A' })]);
        expect(await settles(waiting, 2_000)).toBe(true);
      });

      it('waiting with a filter ignores ready work that does not match', async () => {
        await d().enqueue([entry({ type: 'thumbnail' })]);
        const waiting = d().waitForWork(['q'], 60_000, undefined, undefined, { types: ['mediaInfo'] });
        await looked(d());
        expect(await settles(waiting, 0)).toBe(false);
        await d().enqueue([entry({ type: 'mediaInfo' })]);
        expect(await settles(waiting, 2_000)).toBe(true);
      });
    });

    describe('concurrent takers', () => {
      it('never hand out the same id twice and lose nothing', async () => {
        const made = Array.from({ length: 2_000 }, (_, i) => entry({ queue: i % 3 ? 'a' : 'b', priority: 1 + (i % 10) }));
        await d().enqueue(made);
        const instances = opened!.peer ? [d(), await openPeer(), await openPeer()] : [d()];
        const takers = Array.from({ length: 8 }, async (_, k) => {
          const mine: DispatchEntry[] = [];
          const from = instances[k % instances.length]!;
          for (;;) {
            const got = await from.take({ queues: k % 2 ? ['a', 'b'] : ['b', 'a'], max: 1 + (k % 7) * 5 });
            if (got.length === 0) return mine;
            mine.push(...got);
          }
        });
        const all = (await Promise.all(takers)).flat();
        expect(all).toHaveLength(made.length);
        expect(new Set(ids(all)).size).toBe(made.length);
        expect(ids(all).sort()).toEqual(ids(made).sort());
      });

      it('concurrent takeDue never hands out the same id twice and loses nothing', async () => {
        const made = Array.from({ length: 1_000 }, (_, i) => entry({ dueAt: T0 + (i % 50) }));
        await d().schedule(made);
        const instances = opened!.peer ? [d(), await openPeer()] : [d()];
        const promoters = Array.from({ length: 4 }, async (_, k) => {
          const mine: DispatchEntry[] = [];
          for (;;) {
            const got = await instances[k % instances.length]!.takeDue(T0 + 1000, 1 + k * 13);
            if (got.length === 0) return mine;
            mine.push(...got);
          }
        });
        const all = (await Promise.all(promoters)).flat();
        expect(new Set(ids(all)).size).toBe(made.length);
        expect(ids(all).sort()).toEqual(ids(made).sort());
      });
    });
  });
}
