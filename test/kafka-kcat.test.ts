// The Kafka adapter against another client: kcat (librdkafka), Debian's package `kcat`. What kcat
// writes our subscription reads, and what we publish kcat reads, on the real broker.
import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { CLOUDEVENTS_CONTENT_TYPE, KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { createEvent, InvalidEventError, type EventEnvelope, type InvalidRecord, type ReceivedEvent, type Subscription } from '../src/ports/event-bus.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';
import { HAS_KCAT, kcatConsumeAll, kcatProduce } from './helpers/kcat.js';

const ARRIVE_MS = 20_000;
const clock = new ManualClock(Date.UTC(2026, 0, 1));





function envelope(data: EventEnvelope['data']): EventEnvelope {
  return createEvent({ type: 'docket.test.kcat', source: '/docket/test', tenant: 'acme', linkId: randomUUID(), subject: 'job-7', data }, clock);
}

/** Resolves when `pred` holds for `items` (checked on each push); fails after ARRIVE_MS. */
function arrival<T>(items: T[], pred: (items: T[]) => boolean): { push: (t: T) => void; wait: () => Promise<void> } {
  let wake: (() => void) | undefined;
  return {
    push: (t) => {
      items.push(t);
      if (pred(items)) wake?.();
    },
    wait: () =>
      pred(items)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`waited ${ARRIVE_MS} ms; have ${items.length}`)), ARRIVE_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          }),
  };
}

describe('kafka adapter with kcat', () => {
  let bus: KafkaEventBus;
  const topics: string[] = [];
  const subs: Subscription[] = [];

  const newTopic = async (name: string) => {
    const topic = `docket-test.kcat-${name}.${randomUUID().slice(0, 8)}`;
    topics.push(topic);
    await bus.ensureTopics([topic], { partitions: 3 });
    return topic;
  };

  beforeAll(async () => {
    if (!HAS_KCAT) throw new Error('kcat is not installed: apt-get install -y kcat');
    await ensureKafka();
  }, KAFKA_START_TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(subs.splice(0).map((s) => s.close()));
    await bus?.close();
  });

  afterAll(async () => {
    if (topics.length === 0) return;
    const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      await admin.deleteTopics({ topics });
    } finally {
      await admin.close();
    }
  });

  const openBus = () => (bus = new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200 }));

  it('kcat produces an envelope; our subscription receives it with its key', async () => {
    openBus();
    const topic = await newTopic('in');
    const sent = envelope({ orderId: 42, lines: ['a', 'b'] });
    await kcatProduce(topic, 'job-7', [JSON.stringify(sent)], { 'content-type': CLOUDEVENTS_CONTENT_TYPE });
    const got: ReceivedEvent[] = [];
    const a = arrival(got, (g) => g.length >= 1);
    subs.push(await bus.subscribe([topic], `docket-test.kcat.${randomUUID()}`, async (r) => a.push(r)));
    await a.wait();
    expect(got).toHaveLength(1);
    expect(got[0]!.event).toEqual(sent);
    expect(got[0]!.key).toBe('job-7');
    expect(got[0]!.topic).toBe(topic);
  });

  it('records that are not envelopes go to onInvalid and are skipped (and committed)', async () => {
    openBus();
    const topic = await newTopic('garbage');
    const groupId = `docket-test.kcat.${randomUUID()}`;
    const valid = envelope({ n: 1 });
    // One key: one partition, so the garbage comes before the valid envelope.
    await kcatProduce(topic, 'k', ['not json at all', '{"hello":"world"}', JSON.stringify(valid)]);
    const invalid: InvalidRecord[] = [];
    const got: ReceivedEvent[] = [];
    const a = arrival(got, (g) => g.length >= 1);
    subs.push(await bus.subscribe([topic], groupId, async (r) => a.push(r), { onInvalid: (r) => void invalid.push(r) }));
    await a.wait();
    expect(got.map((r) => r.event)).toEqual([valid]);
    expect(invalid.map((r) => r.value)).toEqual(['not json at all', '{"hello":"world"}']);
    expect(invalid[0]!.error).toBeInstanceOf(InvalidEventError);
    expect(invalid[0]!.error.message).toMatch(/not JSON/);
    expect(invalid[1]!.error.message).toMatch(/specversion/);
    expect(invalid.map((r) => r.key)).toEqual(['k', 'k']);

    // The group is past all three: after a restart only a new event arrives.
    await subs.pop()!.close();
    const marker = envelope({ n: 2 });
    await bus.publish([{ topic, key: 'k', event: marker }]);
    const again: ReceivedEvent[] = [];
    const b = arrival(again, (g) => g.length >= 1);
    const invalidAgain: InvalidRecord[] = [];
    subs.push(await bus.subscribe([topic], groupId, async (r) => b.push(r), { onInvalid: (r) => void invalidAgain.push(r) }));
    await b.wait();
    expect(again.map((r) => r.event)).toEqual([marker]);
    expect(invalidAgain).toEqual([]);
  });

  it('our producer publishes; kcat reads the envelopes, keys and the CloudEvents content type', async () => {
    openBus();
    const topic = await newTopic('out');
    const sent = ['job-1', 'job-2', 'job-3'].map((key, i) => ({ topic, key, event: envelope({ i }) }));
    await bus.publish(sent);
    const records = await kcatConsumeAll(topic);
    expect(records).toHaveLength(3);
    for (const out of sent) {
      const rec = records.find((r) => r.payload !== null && (JSON.parse(r.payload) as EventEnvelope).id === out.event.id)!;
      expect(rec).toBeDefined();
      expect(JSON.parse(rec.payload!)).toEqual(out.event);
      expect(rec.key).toBe(out.key);
      const headers = rec.headers ?? [];
      expect(headers[headers.indexOf('content-type') + 1]).toBe(CLOUDEVENTS_CONTENT_TYPE);
    }
  });

  it('a key lands on the partition the Java client picks (murmur2), as librdkafka\'s murmur2 does', async () => {
    openBus();
    const topic = await newTopic('partitions');
    const keys = Array.from({ length: 24 }, (_, i) => `job-${i}`);
    await bus.publish(keys.map((key) => ({ topic, key, event: envelope({ from: 'docket' }) })));
    for (const key of keys) await kcatProduce(topic, key, [JSON.stringify(envelope({ from: 'kcat' }))]);
    const records = await kcatConsumeAll(topic);
    expect(records).toHaveLength(keys.length * 2);
    const partitionOf = (from: string) =>
      new Map(records.filter((r) => (JSON.parse(r.payload!) as { data: { from: string } }).data.from === from).map((r) => [r.key, r.partition]));
    const ours = partitionOf('docket');
    const theirs = partitionOf('kcat');
    expect(new Set(ours.values()).size).toBeGreaterThan(1); // the keys do spread
    for (const key of keys) expect(ours.get(key)).toBe(theirs.get(key));
  });
});
