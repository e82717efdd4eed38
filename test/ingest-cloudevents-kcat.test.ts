// Issue 21.2: the Kafka consumer takes ordinary CloudEvents 1.0, produced by a client no one here
// wrote (Debian's kcat), in both modes of the Kafka binding: structured (the whole event as JSON in
// the value) and binary (attributes in ce_* headers, data in the value). Optional attributes are
// optional (no `time`, no `linkId`); what is not a CloudEvent is dead-lettered with every problem in
// one reason, under the tenant the record named. Own topics and consumer group per test.
import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { compileIngest } from '../src/domain/ingest/rules.js';
import type { Job } from '../src/domain/job.js';
import type { ReceivedEvent, Subscription } from '../src/ports/event-bus.js';
import { IngestConsumer } from '../src/services/ingest/consumer.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { HAS_KCAT, kcatProduce } from './helpers/kcat.js';
import { until } from './helpers/process.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

const ARRIVE_MS = 30_000;

describe('CloudEvents from kcat, structured and binary mode', () => {
  let bus: KafkaEventBus | undefined;
  let docket: Docket | undefined;
  let consumer: IngestConsumer | undefined;
  const subs: Subscription[] = [];
  const topics: string[] = [];
  const errors: unknown[] = [];

  beforeAll(async () => {
    if (!HAS_KCAT) throw new Error('kcat is not installed: apt-get install -y kcat');
    await ensureKafka();
  }, KAFKA_START_TIMEOUT_MS);

  afterEach(async () => {
    await consumer?.stop();
    await Promise.all(subs.splice(0).map((s) => s.close()));
    await bus?.close();
    await docket?.stop();
    consumer = bus = docket = undefined;
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

  async function setup() {
    const tag = randomUUID().slice(0, 8);
    const input = `docket-test.ce-in.${tag}`;
    const dlq = `docket-test.ce-dlq.${tag}`;
    topics.push(input, dlq);
    bus = new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200 });
    await bus.ensureTopics([input, dlq], { partitions: 1 });
    docket = await openEmbedded({ path: ':memory:' });
    const rules = compileIngest({
      topics: [input],
      rules: [{ name: 'order-paid', match: { type: 'com.acme.order.paid' }, jobs: [{ type: 'invoice.send', queue: 'billing', payload: { orderId: 'data.order.id' } }] }],
    });
    const pipeline = new IngestPipeline(docket.jobs, docket.clock, { ...rules, groupId: `docket-test.ce.${tag}` });
    consumer = new IngestConsumer(bus, pipeline, docket.clock, { deadLetterTopic: dlq, source: '/docket/test', onError: (e) => errors.push(e), retryMs: 100 });
    const letters: ReceivedEvent[] = [];
    subs.push(await bus.subscribe([dlq], `docket-test.ce-dlq-reader.${tag}`, async (r) => void letters.push(r)));
    return { input, letters };
  }

  const jobsOf = async (tenant: string): Promise<Job[]> => (await docket!.jobs.queries.list({ tenant }, 100)).jobs;

  it('takes a structured event without time or linkId, and a binary one; both become jobs', async () => {
    const { input, letters } = await setup();
    // Structured: an ordinary CloudEvent as other producers write it: no time, no linkId, a
    // subject, datacontenttype, dataschema and an extension of its own.
    const structured = {
      specversion: '1.0',
      id: `s-${randomUUID()}`,
      source: 'urn:acme:shop',
      type: 'com.acme.order.paid',
      subject: 'order/1',
      datacontenttype: 'application/json',
      dataschema: 'https://acme.example/schemas/order-paid.json',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tenant: 'acme',
      data: { order: { id: 'o-1' } },
    };
    await kcatProduce(input, 'k', [JSON.stringify(structured)], { 'content-type': 'application/cloudevents+json; charset=UTF-8' });
    // Binary: the attributes in ce_* headers, the data alone in the value.
    const binaryId = `b-${randomUUID()}`;
    await kcatProduce(input, 'k', [JSON.stringify({ order: { id: 'o-2' } })], {
      ce_specversion: '1.0',
      ce_id: binaryId,
      ce_source: 'urn:acme:pos',
      ce_type: 'com.acme.order.paid',
      ce_tenant: 'acme',
      ce_linkid: 'checkout-2',
      'content-type': 'application/json',
    });
    await consumer!.start();

    const jobs = await until('two jobs', async () => {
      const all = await jobsOf('acme');
      return all.length >= 2 ? all : undefined;
    }, ARRIVE_MS);
    const byOrder = Object.fromEntries(jobs.map((j) => [(j.payload as { orderId: string }).orderId, j]));
    expect(byOrder['o-1']).toMatchObject({ type: 'invoice.send', queue: 'billing', tenant: 'acme', linkId: structured.id });
    expect(byOrder['o-2']).toMatchObject({ type: 'invoice.send', queue: 'billing', tenant: 'acme', linkId: 'checkout-2' });
    expect(letters).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);

  it('dead-letters what is no CloudEvent with every problem in one reason, under the tenant the record named', async () => {
    const { input, letters } = await setup();
    // Structured, three problems: no id, no type, a time that is not RFC 3339.
    await kcatProduce(input, 'k', [JSON.stringify({ specversion: '1.0', source: 'urn:acme:shop', time: 'yesterday', tenant: 'acme', data: {} })], { 'content-type': 'application/cloudevents+json' });
    // Binary, two problems: no ce_id, no ce_source; the tenant is in its header.
    await kcatProduce(input, 'k', ['{"order":{"id":"o-9"}}'], { ce_specversion: '1.0', ce_type: 'com.acme.order.paid', ce_tenant: 'acme', 'content-type': 'application/json' });
    // Not JSON and no headers: names no tenant.
    await kcatProduce(input, 'k', ['this is not an event']);
    // Then a good one: processing goes on.
    const good = { specversion: '1.0', id: `g-${randomUUID()}`, source: 'urn:acme:shop', type: 'com.acme.order.paid', tenant: 'acme', data: { order: { id: 'o-10' } } };
    await kcatProduce(input, 'k', [JSON.stringify(good)]);
    await consumer!.start();

    await until('the good event\'s job', async () => ((await jobsOf('acme')).some((j) => j.linkId === good.id) ? true : undefined), ARRIVE_MS);
    await until('3 dead letters', () => (letters.length >= 3 ? true : undefined), ARRIVE_MS);
    const [structured, binary, garbage] = letters.map((l) => l.event);
    const data = (e: typeof structured) => e!.data as { reason: string; detail: string; errors: { path: string; message: string }[]; headers?: Record<string, string> };

    expect(structured).toMatchObject({ type: 'docket.ingest.dead-letter', tenant: 'acme' });
    expect(data(structured).reason).toBe('invalid-record');
    expect(data(structured).errors.map((e) => e.path).sort()).toEqual(['/id', '/time', '/type']);
    for (const path of ['/id: required', '/type: required', '/time: must be an RFC 3339 timestamp']) expect(data(structured).detail).toContain(path);

    expect(binary).toMatchObject({ tenant: 'acme' });
    expect(data(binary).errors.map((e) => e.path).sort()).toEqual(['/id', '/source']);
    expect(data(binary).headers).toMatchObject({ ce_type: 'com.acme.order.paid', ce_tenant: 'acme' });

    expect(garbage).toMatchObject({ tenant: 'unknown' });
    expect(data(garbage).detail).toMatch(/not JSON/);
    expect(errors).toEqual([]);
  }, 90_000);
});
