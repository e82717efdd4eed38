// Ingestion from the real Kafka broker: events produced on an input topic become jobs, a
// redelivered event creates no duplicate, what cannot become jobs goes to the dead-letter topic
// with its reason, and processing continues. Each test has its own topics and consumer group.
import { randomUUID } from 'node:crypto';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { compileIngest, type IngestFile } from '../src/domain/ingest/rules.js';
import type { Job } from '../src/domain/job.js';
import { createEvent, type EventEnvelope, type ReceivedEvent, type Subscription } from '../src/ports/event-bus.js';
import { IngestConsumer } from '../src/services/ingest/consumer.js';
import { DEAD_LETTER_TYPE } from '../src/services/ingest/dead-letter.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { until } from './helpers/process.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

const ARRIVE_MS = 30_000;

const rulesFor = (topic: string): IngestFile => ({
  topics: [topic],
  rules: [
    {
      name: 'order-paid',
      match: { type: 'com.acme.order.paid' },
      jobs: [
        { type: 'invoice.send', queue: 'billing', priority: 2, payload: { orderId: 'data.order.id' }, dedup: ['data.order.id'] },
        { type: 'ship', queue: 'warehouse' },
      ],
    },
  ],
});

describe('ingestion from Kafka', () => {
  let bus: KafkaEventBus;
  let docket: Docket;
  const consumers: IngestConsumer[] = [];
  const subs: Subscription[] = [];
  const topics: string[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    await ensureKafka();
  }, KAFKA_START_TIMEOUT_MS);

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await Promise.all(subs.splice(0).map((s) => s.close()));
    await bus?.close();
    await docket?.stop();
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

  /** A fresh engine, bus, input and dead-letter topics, and a consumer on them. */
  async function setup(wrap?: (p: IngestPipeline) => IngestPipeline) {
    const tag = randomUUID().slice(0, 8);
    const input = `docket-test.ingest-in.${tag}`;
    const dlq = `docket-test.ingest-dlq.${tag}`;
    topics.push(input, dlq);
    bus = new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200 });
    await bus.ensureTopics([input, dlq], { partitions: 3 });
    docket = await openEmbedded({ path: ':memory:' });
    const config = { ...compileIngest(rulesFor(input)), groupId: `docket-test.ingest.${tag}` };
    const pipeline = new IngestPipeline(docket.jobs, docket.clock, config);
    const consumer = new IngestConsumer(bus, wrap ? wrap(pipeline) : pipeline, docket.clock, { deadLetterTopic: dlq, source: '/docket/test', onError: (e) => errors.push(e), retryMs: 100 });
    consumers.push(consumer);
    return { input, dlq, consumer };
  }

  const paid = (orderId: string, tenant = 'acme') =>
    createEvent({ type: 'com.acme.order.paid', source: 'urn:acme:shop', tenant, data: { order: { id: orderId } } }, docket.clock);

  const jobsOf = async (tenant: string): Promise<Job[]> => (await docket.jobs.queries.list({ tenant }, 500)).jobs;

  /** Waits until `tenant` has `n` jobs. */
  const jobsAppear = (tenant: string, n: number) =>
    until(`${n} jobs of ${tenant}`, async () => {
      const jobs = await jobsOf(tenant);
      return jobs.length >= n ? jobs : undefined;
    }, ARRIVE_MS);

  /** Everything that arrives on the dead-letter topic, read by a group of its own. */
  async function readDeadLetters(dlq: string): Promise<ReceivedEvent[]> {
    const got: ReceivedEvent[] = [];
    subs.push(await bus.subscribe([dlq], `docket-test.dlq-reader.${randomUUID()}`, async (r) => void got.push(r)));
    return got;
  }

  it('produced events become the configured jobs; the same event again (redelivery) creates no duplicate', async () => {
    const { input, consumer } = await setup();
    const first = paid('o-1');
    const second = paid('o-2');
    await bus.publish([
      { topic: input, key: 'o-1', event: first },
      { topic: input, key: 'o-2', event: second },
    ]);
    await consumer.start();
    const jobs = await jobsAppear('acme', 4);
    const invoice = jobs.find((j) => j.type === 'invoice.send' && j.linkId === first.id)!;
    expect(invoice).toMatchObject({ tenant: 'acme', queue: 'billing', priority: 2, payload: { orderId: 'o-1' }, state: 'ready' });
    expect(jobs.filter((j) => j.type === 'ship')).toHaveLength(2);

    // The same event id again, then a marker behind it on the same key (same partition, so it is
    // handled after the duplicate): once the marker's jobs exist, the duplicate was handled.
    const marker = paid('o-3');
    await bus.publish([
      { topic: input, key: 'o-1', event: first },
      { topic: input, key: 'o-1', event: marker },
    ]);
    await until('the marker\'s jobs', async () => ((await jobsOf('acme')).filter((j) => j.linkId === marker.id).length === 2 ? true : undefined), ARRIVE_MS);
    const after = await jobsOf('acme');
    expect(after).toHaveLength(6);
    expect(after.filter((j) => j.linkId === first.id)).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('a non-matching event, a broken one and a garbage record go to the dead-letter topic with their reasons; processing continues', async () => {
    const { input, dlq, consumer } = await setup();
    const letters = await readDeadLetters(dlq);
    const unmatched = createEvent({ type: 'com.acme.order.refunded', source: 'urn:acme:shop', tenant: 'acme', data: {} }, docket.clock);
    const broken = createEvent({ type: 'com.acme.order.paid', source: 'urn:acme:shop', tenant: 'acme', data: { order: {} } }, docket.clock);
    const after = paid('o-after');
    // One key, one partition: garbage first, then the two bad events, then a good one.
    const producer = new Producer({ clientId: 'docket-test-raw', bootstrapBrokers: TEST_KAFKA_BROKERS, serializers: stringSerializers });
    try {
      await producer.send({ messages: [{ topic: input, key: 'k', value: 'this is not an event' }] });
    } finally {
      await producer.close();
    }
    await bus.publish([unmatched, broken, after].map((event) => ({ topic: input, key: 'k', event })));
    await consumer.start();

    const jobs = await jobsAppear('acme', 2);
    expect(jobs.every((j) => j.linkId === after.id)).toBe(true);
    await until('3 dead letters', () => (letters.length >= 3 ? true : undefined), ARRIVE_MS);
    const byReason = Object.fromEntries(letters.map((l) => [(l.event.data as { reason: string }).reason, l]));
    for (const l of letters) expect(l.event).toMatchObject({ type: DEAD_LETTER_TYPE, source: '/docket/test', specversion: '1.0' });

    const garbage = byReason['invalid-record']!.event.data as Record<string, unknown>;
    expect(garbage).toMatchObject({ topic: input, key: 'k', value: 'this is not an event', event: null, detail: expect.stringMatching(/not JSON/) });
    expect(typeof garbage.offset).toBe('string');

    const noMatch = byReason['no-match']!;
    expect(noMatch.event).toMatchObject({ tenant: 'acme', subject: unmatched.id });
    expect(noMatch.event.data).toMatchObject({
      event: unmatched,
      topic: input,
      errors: [{ path: '/type', message: 'rule "order-paid": is "com.acme.order.refunded", wanted "com.acme.order.paid"' }],
    });

    const ruleBroken = byReason['rule-broken']!.event.data as Record<string, unknown>;
    expect(ruleBroken).toMatchObject({
      event: broken,
      errors: [
        { path: '/data/order/id', message: 'is missing; rule "order-paid" jobs[0] needs it for payload.orderId' },
        { path: '/data/order/id', message: 'is missing; rule "order-paid" jobs[0] needs it for its dedup key' },
      ],
    });
    // In order on their key, as the originals were.
    expect(letters.map((l) => (l.event.data as { reason: string }).reason)).toEqual(['invalid-record', 'no-match', 'rule-broken']);
    expect(letters.every((l) => l.key === 'k')).toBe(true);
  });

  it('when the engine fails, the event is not committed: the subscription restarts and the event comes again', async () => {
    let failures = 0;
    const { input, consumer } = await setup(
      (p) =>
        ({
          config: p.config,
          ingest: async (event: EventEnvelope) => {
            if (failures++ === 0) throw new Error('store unavailable (simulated)');
            return p.ingest(event);
          },
        }) as unknown as IngestPipeline,
    );
    await bus.publish([{ topic: input, key: 'o-9', event: paid('o-9') }]);
    await consumer.start();
    const jobs = await jobsAppear('acme', 2);
    expect(jobs).toHaveLength(2);
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(String(errors.at(-1))).toMatch(/store unavailable/);
  });
});
