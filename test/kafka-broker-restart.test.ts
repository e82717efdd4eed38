// Issue 25: the Kafka broker stopped (SIGTERM, waited for) and started again on the same ports and
// data dir under a running engine: openEngine in-process, wired as `docket server` wires it, with
// ingest rules on an input topic and the outbox relay publishing job events. The broker is a private
// one (test/helpers/private-engines.ts); the shared broker on 9092 is never touched.
//
// The consumer is held in the middle of an event when the broker goes, so that event and the ones
// fetched behind it are handled across the outage and their offsets cannot be committed: they come
// again after the restart. Asserts: every event produced before the stop and after the start (and
// two sent twice, as a producer's retry does) is exactly one job (the idempotency key of
// docs/ingestion.md: rule, job index, the event's source + id); the consumer rejoins its group by
// itself, before the session of the member it lost would have expired; the server's error log names
// the stopped subscription, and every error logged is the Kafka outage; the relay publishes every job
// event, those logged while the broker was down too, in order per job.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { outageOf } from '../src/adapters/engine-outage.js';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { openEngine, type Engine } from '../src/app/engine.js';
import { loadConfig } from '../src/config/index.js';
import { createEvent, SubscriptionFailedError, type EventEnvelope } from '../src/ports/event-bus.js';
import { BUS_CURSOR } from '../src/services/events/relay.js';
import { alive, startPrivateKafka, type PrivateKafka } from './helpers/private-engines.js';
import { until } from './helpers/process.js';
import { needTool } from './helpers/tools.js';

const INPUT = 'shop.orders';
const PREFIX = 'restart.';
const TENANT = 'acme';
const ARRIVE_MS = 30_000;
/** The bus's default session timeout: a member that never left holds up its group's rebalance this long. */
const SESSION_TIMEOUT_MS = 30_000;
const hasJava = needTool('kafka-broker-restart.test.ts', 'java', spawnSync('java', ['-version']).status === 0, 'apt-get install -y default-jre-headless');

const clock = new SystemClock();
/** What `docket server` would log at error level (its onError). */
const logged: unknown[] = [];
let dir: string;
let kafka: PrivateKafka;
let engine: Engine;
/** The shop's producer, and a downstream reader of Docket's job events. */
let shop: KafkaEventBus;

beforeAll(async () => {
  if (!hasJava) return;
  dir = mkdtempSync(join(tmpdir(), 'docket-kafka-restart-'));
  kafka = await startPrivateKafka({ heap: '256m' });
  shop = new KafkaEventBus({ brokers: [kafka.brokers], clientId: 'shop', maxWaitMs: 200 });
  await shop.ensureTopics([INPUT], { partitions: 3 });
  const file = join(dir, 'docket.json');
  const rule = { name: 'order-paid', match: { type: 'com.acme.order.paid' }, jobs: [{ type: 'invoice.send', queue: 'billing', payload: { orderId: 'data.order.id' } }] };
  writeFileSync(file, JSON.stringify({ ingest: { topics: [INPUT], rules: [rule] } }));
  const config = loadConfig({ DOCKET_DATA_DIR: join(dir, 'data'), DOCKET_CONFIG: file, DOCKET_KAFKA_BROKERS: kafka.brokers, DOCKET_KAFKA_TOPIC_PREFIX: PREFIX });
  engine = await openEngine(config, (err) => logged.push(err));
}, 120_000);

afterAll(async () => {
  await engine?.close();
  await shop?.close();
  const pid = kafka?.pid();
  await kafka?.destroy();
  if (pid) expect(alive(pid)).toBe(false);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const paid = (orderId: string): EventEnvelope => createEvent({ type: 'com.acme.order.paid', source: 'urn:acme:shop', tenant: TENANT, data: { order: { id: orderId } } }, clock);
const batch = (name: string) => Array.from({ length: 10 }, (_, i) => paid(`${name}-${i}`));
const orderOf = (e: EventEnvelope) => (e.data as { order: { id: string } }).order.id;

/** Keyed k0..k9 by the order's number: a key's events are handled in the order published. */
const publish = (events: EventEnvelope[]) => shop.publish(events.map((event) => ({ topic: INPUT, key: `k${orderOf(event).split('-')[1]}`, event })));

/** The tenant's jobs by the event that made them (their linkId). */
async function jobsByEvent(): Promise<Map<string, string[]>> {
  const { jobs } = await engine.docket.jobs.queries.list({ tenant: TENANT }, 1000);
  const by = new Map<string, string[]>();
  for (const j of jobs) by.set(j.linkId!, [...(by.get(j.linkId!) ?? []), j.id]);
  return by;
}

/**
 * An error of the Kafka client (@platformatic/kafka's codes). outageOf names an outage only when
 * every error nested in it is a refused connection or a timeout; one run's stopped subscription also
 * held another of the client's errors, from the broker going down under it.
 */
const kafkaClientError = (err: unknown) => outageOf(err) === 'Kafka' || /^PLT_KFK_/.test(String((err as { code?: unknown } | null)?.code));

const jobsOf = (events: EventEnvelope[], ms = ARRIVE_MS) =>
  until(`the jobs of ${events.map(orderOf).join(', ')}`, async () => {
    const by = await jobsByEvent();
    return events.every((e) => by.has(e.id)) ? by : undefined;
  }, ms, 200);

it.runIf(hasJava)('ingests every event exactly once across a broker stop and start, rejoins by itself, and publishes every job event in order', async () => {
  const before = batch('a');
  await publish(before);
  await jobsOf(before);

  // The next events wait in the handler until the broker is down.
  const pipeline = engine.ingest!;
  const ingest = pipeline.ingest.bind(pipeline);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  pipeline.ingest = async (event, transport) => {
    held++;
    await gate;
    return ingest(event, transport);
  };
  const inFlight = batch('b');
  await publish(inFlight);
  await until('the consumer to be in the middle of an event', () => (held > 0 ? true : undefined), ARRIVE_MS);

  const pid = kafka.pid();
  await kafka.stop();
  expect(alive(pid)).toBe(false);
  release();
  pipeline.ingest = ingest;
  // Job events logged while the broker is down wait in the outbox.
  for (const e of before.slice(0, 3)) await engine.docket.jobs.cancels.cancel((await jobsByEvent()).get(e.id)![0]!);

  // What an operator sees: the subscription stopped, named with its group and topic, and why.
  const stopped = await until('the consumer to report its subscription stopped', () => logged.find((e) => e instanceof SubscriptionFailedError), 60_000, 100);
  expect(stopped.message).toMatch(/^subscription of group "docket-ingest" to shop\.orders stopped: /);
  expect(kafkaClientError(stopped.cause)).toBe(true);

  await kafka.start();
  // Two events again (a producer's retry: same source and id), each before a new event of its key.
  const after = batch('c');
  await publish([before[0]!, before[1]!, ...after]);
  // Back by itself, and before the session of the member it lost would expire: rejoining as a new
  // member, it got nothing until then (30 s after the broker had loaded the group, before start() resolved).
  await jobsOf(after, SESSION_TIMEOUT_MS - 5_000);

  const by = await jobsByEvent();
  const all = [...before, ...inFlight, ...after];
  expect(all.filter((e) => by.get(e.id)?.length !== 1).map(orderOf)).toEqual([]);
  expect([...by.values()].flat()).toHaveLength(all.length);
  // Nothing but the outage: no bug, no dead letter, no other failure.
  expect(logged.filter((e) => !kafkaClientError(e instanceof SubscriptionFailedError ? e.cause : e)).map(String)).toEqual([]);

  // The relay published the whole log; a downstream reader gets every job event, in order per job.
  const log = await engine.docket.store.events.read(0, 10_000, { topics: ['job-events'] });
  await until('the relay to publish the whole log', async () => ((await engine.docket.store.events.cursor(BUS_CURSOR)) ?? 0) >= log.at(-1)!.pos || undefined, ARRIVE_MS, 200);
  const read: { job: string; id: string }[] = [];
  const reader = await shop.subscribe([`${PREFIX}job-events`], 'job-events-reader', async (r) => void read.push({ job: r.key!, id: r.event.id }));
  try {
    await until('every job event on Kafka', () => (new Set(read.map((r) => r.id)).size >= log.length ? true : undefined), ARRIVE_MS, 200);
  } finally {
    await reader.close();
  }
  const chains = (rows: { job: string; id: string }[]) => {
    const byJob = new Map<string, string[]>();
    for (const r of rows) if (!byJob.get(r.job)?.includes(r.id)) byJob.set(r.job, [...(byJob.get(r.job) ?? []), r.id]);
    return byJob;
  };
  expect(chains(read)).toEqual(chains(log.map((e) => ({ job: e.key, id: String(e.pos) }))));
  // The cancellations made while the broker was down are among them.
  expect(log.filter((e) => e.type === 'cancelled')).toHaveLength(3);
}, 150_000);
