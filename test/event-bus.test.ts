import { Admin } from '@platformatic/kafka';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { chunksOf, KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { MemoryEventBus } from '../src/adapters/memory/memory-event-bus.js';
import { createEvent, type OutgoingEvent, type ReceivedEvent } from '../src/ports/event-bus.js';
import { describeEventBusConformance } from './conformance/event-bus-conformance.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

describeEventBusConformance('memory', async () => ({
  bus: new MemoryEventBus(),
  createTopics: async () => {},
  cleanup: async () => {},
}));

describe('kafka', () => {
  beforeAll(ensureKafka, KAFKA_START_TIMEOUT_MS);

  // Every test gets topics (3 partitions) and groups of its own on the shared broker; its topics
  // are deleted afterwards so a developer's broker does not fill up.
  describeEventBusConformance('kafka', async () => {
    const created: string[] = [];
    const open = () => new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200, sessionTimeoutMs: 10_000 });
    const bus = open();
    return {
      bus,
      peer: async () => open(),
      createTopics: async (topics) => {
        created.push(...topics);
        await bus.ensureTopics(topics, { partitions: 3 });
      },
      cleanup: async () => {
        if (created.length === 0) return;
        const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
        try {
          await admin.deleteTopics({ topics: created });
        } finally {
          await admin.close();
        }
      },
    };
  });
});

describe('memory event bus retention', () => {
  const clock = new ManualClock();
  const events = (n: number, from = 0): OutgoingEvent[] =>
    Array.from({ length: n }, (_, i) => ({ topic: 't', key: 'k', event: createEvent({ type: 'x', source: '/test', tenant: 'acme', data: from + i }, clock) }));
  /** Handles events until one with data `last` arrived (memory delivery is prompt: no timeout). */
  const collectUntil = (last: number) => {
    const got: number[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((resolve) => (arrived = resolve));
    const handler = async (r: ReceivedEvent) => {
      got.push(r.event.data as number);
      if (r.event.data === last) arrived();
    };
    return { got, handler, done };
  };

  it('keeps the newest events per topic; a new group starts at the oldest kept one', async () => {
    const bus = new MemoryEventBus({ retainPerTopic: 4 });
    await bus.publish(events(10));
    const c = collectUntil(9);
    await bus.subscribe(['t'], 'late', c.handler);
    await c.done;
    expect(c.got).toEqual([6, 7, 8, 9]);
    await bus.close();
  });

  it('a group that lags past retention skips to the oldest kept event', async () => {
    const bus = new MemoryEventBus({ retainPerTopic: 2 });
    await bus.publish(events(1));
    const first = collectUntil(0);
    const sub = await bus.subscribe(['t'], 'g', first.handler);
    await first.done;
    await sub.close();
    await bus.publish(events(9, 1));
    const again = collectUntil(9);
    await bus.subscribe(['t'], 'g', again.handler);
    await again.done;
    expect(again.got).toEqual([8, 9]);
    await bus.close();
  });
});

describe('kafka sends', () => {
  const ev = (key: string, value: string) => ({ topic: 't', key, value });

  it('cut a publish into consecutive sends under the byte limit, counted in UTF-8 bytes, keeping order', () => {
    const events = Array.from({ length: 10 }, (_, i) => ev(`k${i}`, 'é'.repeat(50))); // 100 bytes of value, 2 of key, 80 of overhead each
    const chunks = [...chunksOf(events, 400)];
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 2, 2, 2]);
    expect(chunks.flat()).toEqual(events);
  });

  it('send an event larger than the limit alone, and nothing for no events', () => {
    const big = ev('b', 'x'.repeat(1000));
    expect([...chunksOf([ev('a', ''), big, ev('c', '')], 500)].map((c) => c.map((e) => e.key))).toEqual([['a'], ['b'], ['c']]);
    expect([...chunksOf([], 500)]).toEqual([]);
  });
});
