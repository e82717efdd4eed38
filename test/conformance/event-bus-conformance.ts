import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import type { Json } from '../../src/domain/job.js';
import {
  createEvent,
  encodeEnvelope,
  EventBusClosedError,
  InvalidEventError,
  SubscriptionFailedError,
  type EventBus,
  type EventEnvelope,
  type EventHandler,
  type OutgoingEvent,
  type ReceivedEvent,
  type SubscribeOptions,
  type Subscription,
} from '../../src/ports/event-bus.js';

export interface OpenedEventBus {
  bus: EventBus;
  /**
   * Opens another bus over the same topics and groups, as another process would. Adapters whose
   * state lives in one process (memory) leave it out and the suite restarts on `bus` itself.
   */
  peer?: () => Promise<EventBus>;
  /** Makes the topics exist (Kafka: with several partitions, so per-key order is really tested). */
  createTopics(topics: readonly string[]): Promise<void>;
  /** Releases what the test made (topics). The suite has closed every bus by then. */
  cleanup(): Promise<void>;
}

/** How long an event may take to arrive before a test calls it lost: generous, CI machines stall. */
const ARRIVE_MS = 20_000;
/** How long a test watches a promise that must stay pending. */
const QUIET_MS = 100;

const clock = new ManualClock(Date.UTC(2026, 0, 1));

function event(data: Json, over: Partial<EventEnvelope> = {}): EventEnvelope {
  return { ...createEvent({ type: 'docket.test.happened', source: '/docket/test', tenant: 'acme', linkId: randomUUID(), data }, clock), ...over };
}

/** Events `n` of one key, data `{ key, seq }`, seq from `from`. */
function series(topic: string, key: string, n: number, from = 0): OutgoingEvent[] {
  return Array.from({ length: n }, (_, i) => ({ topic, key, event: event({ key, seq: from + i }) }));
}

/** Records what a handler got and lets a test wait for a count, without sleeping. */
class Collector {
  readonly got: ReceivedEvent[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];

  constructor(private readonly inner?: (r: ReceivedEvent) => Promise<void> | void) {}

  readonly handler: EventHandler = async (r) => {
    await this.inner?.(r);
    this.got.push(r);
    this.waiters = this.waiters.filter((w) => (this.got.length >= w.n ? (w.resolve(), false) : true));
  };

  /** Resolves when at least `n` events were handled; fails the test after ARRIVE_MS. */
  async count(n: number): Promise<ReceivedEvent[]> {
    if (this.got.length < n) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ n, resolve })),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`waited ${ARRIVE_MS} ms for ${n} events, got ${this.got.length}`)), ARRIVE_MS);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.got;
  }

  /** Data of each handled event, in handling order. */
  data(): Json[] {
    return this.got.map((r) => r.event.data);
  }
}

/** Polls `ok` every 20 ms (a few checks of state the handlers fill); fails after ARRIVE_MS. */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + ARRIVE_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`waited ${ARRIVE_MS} ms for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `seq`s a collector got for `key`, in the order it got them. */
function seqsOf(c: Collector, key: string): number[] {
  return c.got.filter((r) => r.key === key).map((r) => (r.event.data as { seq: number }).seq);
}

/**
 * The EventBus port's contract, written only against the port: every adapter (memory, kafka)
 * runs it. `open` returns a fresh bus; every test uses topics and groups of its own.
 */
export function describeEventBusConformance(name: string, open: () => Promise<OpenedEventBus>): void {
  describe(`EventBus conformance: ${name}`, () => {
    let opened: OpenedEventBus | undefined;
    let buses: EventBus[] = [];
    let subs: Subscription[] = [];
    const bus = () => opened!.bus;
    const suffix = () => randomUUID().slice(0, 8);
    const newTopics = async (...names: string[]) => {
      const topics = names.map((n) => `docket-test.${n}.${suffix()}`);
      await opened!.createTopics(topics);
      return topics;
    };
    const group = (n = 'g') => `docket-test.${n}.${suffix()}`;
    /** The bus a "restarted process" uses: a peer where the adapter has them. */
    const restarted = async () => {
      if (!opened!.peer) return bus();
      const peer = await opened!.peer();
      buses.push(peer);
      return peer;
    };
    const subscribe = async (b: EventBus, topics: string[], groupId: string, c: Collector, options?: SubscribeOptions) => {
      const s = await b.subscribe(topics, groupId, c.handler, options);
      subs.push(s);
      return s;
    };

    beforeEach(async () => {
      opened = await open();
      buses = [opened.bus];
      subs = [];
    });

    afterEach(async () => {
      await Promise.all(subs.map((s) => s.close()));
      await Promise.all(buses.map((b) => b.close()));
      await opened?.cleanup();
      opened = undefined;
    });

    it('delivers published events with their envelope, topic and key', async () => {
      const [topic] = await newTopics('roundtrip');
      const sent = [...series(topic!, 'job-1', 2), ...series(topic!, 'job-2', 1)];
      await bus().publish(sent);
      const c = new Collector();
      await subscribe(bus(), [topic!], group(), c);
      const got = await c.count(3);
      expect(got).toHaveLength(3);
      for (const out of sent) {
        const r = got.find((g) => g.event.id === out.event.id)!;
        expect(r).toBeDefined();
        expect(r.event).toEqual(out.event);
        expect(r.topic).toBe(topic);
        expect(r.key).toBe(out.key);
        expect(r.offset).toMatch(/^\d+$/);
        expect(Number.isInteger(r.partition) && r.partition >= 0).toBe(true);
      }
      // One key, one partition.
      const partitions = got.filter((r) => r.key === 'job-1').map((r) => r.partition);
      expect(new Set(partitions).size).toBe(1);
    });

    it('publishEncoded delivers envelopes sent in their wire form', async () => {
      const [topic] = await newTopics('encoded');
      const sent = series(topic!, 'job-1', 2);
      await bus().publishEncoded(sent.map((e) => ({ topic: e.topic, key: e.key, value: encodeEnvelope(e.event) })));
      await bus().publishEncoded([]);
      const c = new Collector();
      await subscribe(bus(), [topic!], group(), c);
      const got = await c.count(2);
      expect(got.map((r) => [r.key, r.event])).toEqual(sent.map((e) => [e.key, e.event]));
    });

    it('publish([]) does nothing', async () => {
      await expect(bus().publish([])).resolves.toBeUndefined();
    });

    it('keeps the order of each key across partitions, batches and concurrent publish calls', async () => {
      const [topic] = await newTopics('order');
      const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
      const perKey = 40;
      // Interleaved keys, in batches of 24 events, awaited one after another...
      const all = Array.from({ length: perKey }, (_, i) => keys.flatMap((k) => series(topic!, k, 1, i))).flat();
      for (let i = 0; i < all.length / 2; i += 24) await bus().publish(all.slice(i, Math.min(i + 24, all.length / 2)));
      // ...then the rest as concurrent calls: their order per key is the order of the calls.
      const rest = all.slice(all.length / 2);
      await Promise.all(Array.from({ length: Math.ceil(rest.length / 10) }, (_, i) => bus().publish(rest.slice(i * 10, i * 10 + 10))));
      const c = new Collector();
      await subscribe(bus(), [topic!], group(), c);
      await c.count(all.length);
      for (const k of keys) expect(seqsOf(c, k)).toEqual(Array.from({ length: perKey }, (_, i) => i));
    });

    it('publishes in one call more than a broker takes in one record batch (3 MB on one key), in order', async () => {
      const [topic] = await newTopics('large');
      const pad = 'é'.repeat(750); // 1,500 bytes of UTF-8 in 750 characters
      const sent = Array.from({ length: 2000 }, (_, i) => ({ topic: topic!, key: 'job-big', event: event({ key: 'job-big', seq: i, pad }) }));
      await bus().publish(sent);
      const c = new Collector();
      await subscribe(bus(), [topic!], group(), c);
      await c.count(sent.length);
      expect(seqsOf(c, 'job-big')).toEqual(sent.map((_, i) => i));
    });

    it('one subscription gets the events of several topics', async () => {
      const [t1, t2] = await newTopics('multi-a', 'multi-b');
      await bus().publish([...series(t1!, 'k', 3), ...series(t2!, 'k', 2)]);
      const c = new Collector();
      await subscribe(bus(), [t1!, t2!], group(), c);
      await c.count(5);
      expect(c.got.filter((r) => r.topic === t1).map((r) => (r.event.data as { seq: number }).seq)).toEqual([0, 1, 2]);
      expect(c.got.filter((r) => r.topic === t2).map((r) => (r.event.data as { seq: number }).seq)).toEqual([0, 1]);
    });

    it('every group gets every event', async () => {
      const [topic] = await newTopics('groups');
      const [c1, c2] = [new Collector(), new Collector()];
      await subscribe(bus(), [topic!], group('one'), c1);
      await subscribe(bus(), [topic!], group('two'), c2);
      await bus().publish(series(topic!, 'k', 4));
      await Promise.all([c1.count(4), c2.count(4)]);
      expect(seqsOf(c1, 'k')).toEqual([0, 1, 2, 3]);
      expect(seqsOf(c2, 'k')).toEqual([0, 1, 2, 3]);
    });

    it('subscriptions of one group share the events: each event is handled, by one of them', async () => {
      const [topic] = await newTopics('shared');
      const groupId = group();
      const [c1, c2] = [new Collector(), new Collector()];
      await subscribe(bus(), [topic!], groupId, c1);
      await subscribe(await restarted(), [topic!], groupId, c2);
      const keys = Array.from({ length: 12 }, (_, i) => `job-${i}`);
      const sent = keys.flatMap((k) => series(topic!, k, 5));
      await bus().publish(sent);
      const ids = () => new Set([...c1.got, ...c2.got].map((r) => r.event.id));
      await until(() => ids().size === sent.length, 'every event handled by one of the two');
      expect(ids()).toEqual(new Set(sent.map((o) => o.event.id)));
      // At-least-once: a rebalance may hand an event to both, but each keeps every key's order.
      for (const c of [c1, c2]) for (const k of keys) expect(seqsOf(c, k)).toEqual([...seqsOf(c, k)].sort((a, b) => a - b));
    });

    it('a new group starts at the earliest event, or with start "latest" after the last one', async () => {
      const [topic] = await newTopics('start');
      await bus().publish(series(topic!, 'k', 2));
      const [early, late] = [new Collector(), new Collector()];
      await subscribe(bus(), [topic!], group('early'), early);
      await subscribe(bus(), [topic!], group('late'), late, { start: 'latest' });
      await bus().publish(series(topic!, 'k', 1, 2));
      await Promise.all([early.count(3), late.count(1)]);
      expect(seqsOf(early, 'k')).toEqual([0, 1, 2]);
      expect(seqsOf(late, 'k')).toEqual([2]);
    });

    it('a handler that rejects stops the subscription; the failed event and those after it come again, handled ones do not', async () => {
      const [topic] = await newTopics('failure');
      const groupId = group();
      await bus().publish(series(topic!, 'k', 5));
      const boom = new Error('downstream is down');
      const first = new Collector((r) => {
        if ((r.event.data as { seq: number }).seq === 2) throw boom;
      });
      const sub = await subscribe(bus(), [topic!], groupId, first);
      const failure = await sub.done.then(
        () => null,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(SubscriptionFailedError);
      expect((failure as SubscriptionFailedError).cause).toBe(boom);
      expect((failure as SubscriptionFailedError).groupId).toBe(groupId);
      expect(seqsOf(first, 'k')).toEqual([0, 1]);

      // A restart (another process where the adapter can have one) resumes at the failed event.
      const again = new Collector();
      await subscribe(await restarted(), [topic!], groupId, again);
      await again.count(3);
      // A marker after them (same key, so same partition, so after them) shows nothing else came.
      await bus().publish(series(topic!, 'k', 1, 5));
      await again.count(4);
      expect(seqsOf(again, 'k')).toEqual([2, 3, 4, 5]);
    });

    it('close() waits for the handler in progress and commits it; the next subscription of the group goes on after it', async () => {
      const [topic] = await newTopics('close');
      const groupId = group();
      await bus().publish(series(topic!, 'k', 3));
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let entered!: () => void;
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      const first = new Collector(async () => {
        entered();
        await gate;
      });
      const sub = await subscribe(bus(), [topic!], groupId, first);
      await inHandler;
      const closing = sub.close();
      expect(await settles(closing, QUIET_MS)).toBe(false);
      open();
      await closing;
      await expect(sub.done).resolves.toBeUndefined();
      expect(seqsOf(first, 'k')).toEqual([0]);

      const next = new Collector();
      await subscribe(await restarted(), [topic!], groupId, next);
      await bus().publish(series(topic!, 'k', 1, 3));
      await next.count(3);
      expect(seqsOf(next, 'k')).toEqual([1, 2, 3]);
    });

    it('a group that subscribes again resumes after what it handled', async () => {
      const [topic] = await newTopics('resume');
      const groupId = group();
      await bus().publish(series(topic!, 'k', 3));
      const first = new Collector();
      const sub = await subscribe(bus(), [topic!], groupId, first);
      await first.count(3);
      await sub.close();
      await bus().publish(series(topic!, 'k', 2, 3));
      const second = new Collector();
      await subscribe(await restarted(), [topic!], groupId, second);
      await second.count(2);
      await bus().publish(series(topic!, 'k', 1, 5));
      await second.count(3);
      expect(seqsOf(second, 'k')).toEqual([3, 4, 5]);
    });

    it('rejects an invalid event with InvalidEventError and publishes none of the call', async () => {
      const [topic] = await newTopics('invalid');
      const good = series(topic!, 'k', 1)[0]!;
      const bad = { ...series(topic!, 'k', 1, 1)[0]!, event: { ...event({}), specversion: '0.3' } } as unknown as OutgoingEvent;
      await expect(bus().publish([good, bad])).rejects.toThrow(InvalidEventError);
      await expect(bus().publish([good, bad])).rejects.toThrow(/events\[1\]\.event\.specversion/);
      await expect(bus().publish([{ ...good, key: '' }])).rejects.toThrow(/events\[0\]\.key/);
      await expect(bus().publish([{ ...good, topic: 'no spaces' }])).rejects.toThrow(/events\[0\]\.topic/);
      const noTime = { ...good, event: { ...good.event, time: 'yesterday' } };
      await expect(bus().publish([noTime])).rejects.toThrow(/\.time/);
      const notJson = { ...good, event: { ...good.event, data: { at: new Date() } } } as unknown as OutgoingEvent;
      await expect(bus().publish([notJson])).rejects.toThrow(/\.data/);

      await bus().publish(series(topic!, 'k', 1, 9));
      const c = new Collector();
      await subscribe(bus(), [topic!], group(), c);
      await c.count(1);
      expect(seqsOf(c, 'k')).toEqual([9]);
    });

    it('close() ends every subscription; publish and subscribe then reject', async () => {
      const [topic] = await newTopics('closed');
      const sub = await subscribe(bus(), [topic!], group(), new Collector());
      await bus().close();
      await expect(sub.done).resolves.toBeUndefined();
      await expect(bus().publish(series(topic!, 'k', 1))).rejects.toThrow(EventBusClosedError);
      await expect(bus().subscribe([topic!], group(), async () => {})).rejects.toThrow(EventBusClosedError);
      await bus().close(); // idempotent
    });
  });
}
