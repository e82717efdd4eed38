// Traces across the queue (docs/tracing.md), with the real OpenTelemetry SDK and OTLP/HTTP
// exporter sending to a receiver in the test: a request's trace shows its submit, each attempt of
// its job on a remote worker (another process) and the handler's own calls as one tree; a Kafka
// record's traceparent header is where an ingested job's trace starts; a lost lease shows in the
// job's trace; and with tracing off nothing is exported while the caller's context still travels
// with the job. All on both deployments (embedded; PostgreSQL + Redis), but the exporter's
// protocol, which is the tracing SDK's alone.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { openEmbedded } from '../src/app/docket.js';
import { startTracing, type Tracing } from '../src/app/tracing.js';
import { compileIngest } from '../src/domain/ingest/rules.js';
import { IngestConsumer } from '../src/services/ingest/consumer.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { both } from './helpers/both.js';
import { ROOT, admin, api, cleanupClusters, clusterEnv, mintToken, openCluster, start, startLine, JWT_SECRET, type Proc } from './helpers/cluster.js';
import { startReceiver, type ReceivedSpan, type Receiver } from './helpers/otlp-receiver.js';
import { cleanEnv, freePort, until } from './helpers/process.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

const HANDLERS = join(ROOT, 'test', 'fixtures', 'traced-handlers.js');
/** Process start-up and job waits: generous, as a loaded 2-core machine takes seconds to start Node. */
const START_MS = 60_000;
const PROCESS_TEST_MS = 240_000;
const PRODUCER = 4;
const CONSUMER = 5;
const ERROR = 2;

/** Engines in this process (Kafka ingest, lease loss), on both deployments. */
const engines = both();
const receivers: Receiver[] = [];
const dirs: string[] = [];
let workerToken = '';

beforeAll(async () => {
  [admin.token, workerToken] = await Promise.all([mintToken('admin'), mintToken('worker')]);
}, 60_000);

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

/** The OTEL_* environment of a process exporting to `r` (none of the shell's own). */
function otelEnv(r: Receiver, extra: Record<string, string> = {}): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', ...extra };
}

/** `docket server --no-worker` in embedded mode (SQLite in a temp dir). */
async function embeddedServer(env: Record<string, string>): Promise<{ url: string; proc: Proc }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'docket-tracing-'));
  dirs.push(dir);
  const proc = start('embedded server', ['server', '--no-worker', '--lease-ms', '2000'], (cleanEnv({ DOCKET_DATA_DIR: dir, PORT: String(port), DOCKET_JWT_SECRET: JWT_SECRET, DOCKET_LOG_LEVEL: 'info', ...env })));
  await startLine(proc, START_MS);
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** `docket server --role api,scheduler --no-worker` on PostgreSQL + Redis (a cluster of its own; lease 2 s too). */
async function productionServer(env: Record<string, string>): Promise<{ url: string; proc: Proc }> {
  const cluster = await openCluster();
  const port = await freePort();
  const proc = start('api', ['server', '--role', 'api,scheduler', '--no-worker'], clusterEnv(cluster, { ...env, PORT: String(port) }));
  await startLine(proc, START_MS);
  return { url: `http://127.0.0.1:${port}`, proc };
}

/** The server processes of the two deployments. */
const SERVERS = [
  { name: 'embedded (SQLite)', server: embeddedServer },
  { name: 'production (PostgreSQL + Redis)', server: productionServer },
];

/** `docket worker` (the CLI's remote worker, over HTTP) running the traced handlers. */
async function remoteWorker(url: string, env: Record<string, string>): Promise<Proc> {
  const proc = start('remote worker', ['worker', '--handlers', HANDLERS, '--url', url, '--heartbeat-ms', '500', '--concurrency', '2'], (cleanEnv({ DOCKET_TOKEN: workerToken, DOCKET_LOG_LEVEL: 'info', ...env })));
  await until('the worker to start', () => {
    if (proc.child.exitCode !== null) throw new Error(`docket worker exited with ${proc.child.exitCode}:\n${proc.output()}`);
    return proc.logs().find((l) => l.msg === 'worker started');
  }, START_MS);
  return proc;
}

/** SIGTERM, and the exit: a process with tracing on exports what it still holds on the way out. */
async function stop(...procs: Proc[]): Promise<void> {
  for (const p of procs) {
    p.child.kill('SIGTERM');
    await p.exited;
    expect(p.child.exitCode, `${p.name}:\n${p.output()}`).toBe(0);
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function submitTraced(url: string, caller: { traceId: string; spanId: string }, downstream: string, queue = 'default'): Promise<any> {
  const res = await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json', traceparent: `00-${caller.traceId}-${caller.spanId}-01`, tracestate: 'acme=1' },
    body: JSON.stringify({ type: 'traced', queue, payload: { downstream }, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 100 } }),
  });
  expect(res.status).toBe(201);
  return res.json();
}

function untilState(url: string, id: string, state: string): Promise<any> {
  return until(`job ${id} to be ${state}`, async () => {
    const job = await api(url, 'GET', `/v1/jobs/${id}`);
    return job.state === state ? job : undefined;
  }, START_MS);
}

/**
 * What a user checks in a trace viewer: the request's trace holds the job's producer span (child
 * of the request's span), one process span per attempt (children of it, in the worker's process),
 * the failed attempt with its error and retry, and the handler's own span and outgoing call
 * under the successful attempt: one tree.
 */
function expectOneTree(spans: ReceivedSpan[], r: Receiver, job: any, caller: { traceId: string; spanId: string }) {
  const inTrace = spans.filter((s) => s.traceId === caller.traceId);
  const send = inTrace.find((s) => s.name === 'send default' && s.attributes['messaging.message.id'] === job.id);
  expect(send, JSON.stringify(inTrace.map((s) => s.name))).toBeDefined();
  expect(send).toMatchObject({
    service: 'docket',
    kind: PRODUCER,
    parentSpanId: caller.spanId,
    attributes: expect.objectContaining({ 'messaging.system': 'docket', 'messaging.operation.type': 'send', 'messaging.destination.name': 'default', 'docket.job.type': 'traced' }),
  });
  // The job carries its producer span's context (and the caller's tracestate) to the worker.
  expect(job.traceContext).toEqual({ traceparent: `00-${caller.traceId}-${send!.spanId}-01`, tracestate: 'acme=1' });

  const attempts = inTrace.filter((s) => s.name === 'process default' && s.attributes['messaging.message.id'] === job.id).sort((a, b) => Number(a.attributes['docket.job.attempt']) - Number(b.attributes['docket.job.attempt']));
  expect(attempts.map((a) => a.attributes['docket.job.attempt'])).toEqual([1, 2]);
  for (const a of attempts) {
    expect(a).toMatchObject({ service: 'docket-worker', kind: CONSUMER, parentSpanId: send!.spanId, links: [{ traceId: caller.traceId, spanId: send!.spanId }] });
    expect(a.attributes).toMatchObject({ 'messaging.system': 'docket', 'messaging.operation.type': 'process', 'messaging.destination.name': 'default', 'docket.job.max_attempts': 3 });
    expect(typeof a.attributes['docket.job.wait_ms']).toBe('number');
  }
  const [first, second] = attempts;
  expect(first!.attributes['docket.job.outcome']).toBe('retrying');
  expect(first!.status.code).toBe(ERROR);
  expect(first!.events.map((e) => e.name)).toEqual(['exception', 'docket.job.retry']);
  expect(first!.events[0]!.attributes['exception.message']).toBe('attempt 1 fails on purpose');
  expect(first!.events[1]!.attributes).toMatchObject({ 'docket.job.next_attempt': 2 });
  expect(second!.attributes['docket.job.outcome']).toBe('succeeded');
  expect(second!.status.code).not.toBe(ERROR);

  const call = inTrace.find((s) => s.name === 'downstream call');
  expect(call).toMatchObject({ service: 'docket-worker', parentSpanId: second!.spanId });
  // The handler's outgoing call carried the trace on.
  const hit = r.downstream.find((d) => d.path === '/downstream');
  expect(hit?.headers.traceparent).toBe(`00-${caller.traceId}-${call!.spanId}-01`);

  // One tree: every span of the trace hangs under another of it, or under the caller's span.
  const ids = new Set(inTrace.map((s) => s.spanId));
  for (const s of inTrace) expect(s.parentSpanId === caller.spanId || ids.has(s.parentSpanId), `${s.name} has a parent outside the trace`).toBe(true);
}

describe.each(SERVERS)('traces across the queue, $name', ({ server: startServer }) => {
  it('one trace from an HTTP submit through a retry to success on a remote worker', async () => {
    const r = await receiver();
    const server = await startServer(otelEnv(r));
    const worker = await remoteWorker(server.url, otelEnv(r));
    const caller = { traceId: hex(16), spanId: hex(8) };
    const submitted = await submitTraced(server.url, caller, `${r.url}/downstream`);
    const done = await untilState(server.url, submitted.id, 'succeeded');
    expect(done.attempt).toBe(2);
    await stop(worker, server.proc);
    expectOneTree(r.spans, r, done, caller);
  }, PROCESS_TEST_MS);

  it('off (OTEL_TRACES_EXPORTER=none): nothing is exported, and the caller\'s context still travels with the job to its worker', async () => {
    const r = await receiver();
    const env = otelEnv(r, { OTEL_TRACES_EXPORTER: 'none' });
    const server = await startServer(env);
    const caller = { traceId: hex(16), spanId: hex(8) };
    const passed = { traceparent: `00-${caller.traceId}-${caller.spanId}-01`, tracestate: 'acme=1' };

    // Unchanged, as received: there is no producer span to stand in for the caller's.
    const probe = await submitTraced(server.url, caller, `${r.url}/downstream`, 'probe');
    expect(probe.traceContext).toEqual(passed);
    const { jobs } = await api(server.url, 'POST', '/v1/queues/probe/claim', { workerId: 'probe', max: 1 });
    expect(jobs[0]).toMatchObject({ id: probe.id, traceContext: passed });

    const worker = await remoteWorker(server.url, env);
    const submitted = await submitTraced(server.url, caller, `${r.url}/downstream`);
    expect((await untilState(server.url, submitted.id, 'succeeded')).attempt).toBe(2);
    await stop(worker, server.proc);
    expect(r.exports).toBe(0);
  }, PROCESS_TEST_MS);
});

/** The SDK exporting to `r`, shut down (and the endpoint forgotten) after the test, after what is opened later. */
async function tracingTo(r: Receiver): Promise<Tracing> {
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = r.url;
  const tracing = await startTracing({ exporter: 'otlp', protocol: 'http/json', sampler: { name: 'parentbased_always_on', ratio: 1 }, batch: { scheduledDelayMillis: 50 } }, 'docket-test');
  engines.defer(async () => {
    await tracing.shutdown();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });
  return tracing;
}

engines.onBoth('traces from Kafka', () => {
  const topics: string[] = [];

  beforeAll(async () => {
    await ensureKafka();
  }, KAFKA_START_TIMEOUT_MS);

  afterAll(async () => {
    if (topics.length === 0) return;
    const kafkaAdmin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      await kafkaAdmin.deleteTopics({ topics });
    } finally {
      await kafkaAdmin.close();
    }
  });

  it('a record\'s traceparent header is the parent of the ingested job\'s producer span, and its attempt joins the same trace', async () => {
    const troubles: unknown[] = [];
    const r = await receiver();
    const tracing = await tracingTo(r);

    const tag = randomUUID().slice(0, 8);
    const input = `docket-test.trace-in.${tag}`;
    const dlq = `docket-test.trace-dlq.${tag}`;
    topics.push(input, dlq);
    const bus = new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200 });
    engines.defer(() => bus.close());
    await bus.ensureTopics([input, dlq], { partitions: 1 });
    const docket = await engines.open();
    const config = { ...compileIngest({ topics: [input], rules: [{ name: 'paid', match: { type: 'com.acme.order.paid' }, jobs: [{ type: 'invoice.send', queue: 'billing' }] }] }), groupId: `docket-test.trace.${tag}` };
    const consumer = new IngestConsumer(bus, new IngestPipeline(docket.jobs, docket.clock, config), docket.clock, { deadLetterTopic: dlq, source: '/docket/test', onError: (err) => troubles.push(err), retryMs: 100 });
    engines.defer(() => consumer.stop());
    await consumer.start();
    const worker = await new Worker({
      transport: new LocalTransport(docket.jobs),
      handlers: { 'invoice.send': () => trace.getTracer('test').startActiveSpan('render invoice', (span) => span.end()) },
      queues: ['billing'],
      pollWaitMs: 200,
    }).start();
    engines.defer(() => worker.close());

    const caller = { traceId: hex(16), spanId: hex(8) };
    const producer = new Producer({ clientId: 'docket-test-traced', bootstrapBrokers: TEST_KAFKA_BROKERS, serializers: stringSerializers });
    try {
      const event = { specversion: '1.0', id: randomUUID(), type: 'com.acme.order.paid', source: 'urn:acme:shop', tenant: 'acme', data: { order: { id: 'o-1' } } };
      await producer.send({ messages: [{ topic: input, key: 'o-1', value: JSON.stringify(event), headers: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` } }] });
    } finally {
      await producer.close();
    }

    const job = await until('the ingested job to succeed', async () => {
      const [j] = (await docket.jobs.queries.list({ queue: 'billing' }, 10)).jobs;
      return j?.state === 'succeeded' ? j : undefined;
    }, 30_000);
    expect(job.traceContext?.traceparent).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
    await worker.close();
    await tracing.shutdown();

    const send = r.spans.find((s) => s.name === 'send billing');
    expect(send).toMatchObject({ traceId: caller.traceId, parentSpanId: caller.spanId, kind: PRODUCER, attributes: expect.objectContaining({ 'messaging.message.id': job.id }) });
    expect(job.traceContext!.traceparent).toBe(`00-${caller.traceId}-${send!.spanId}-01`);
    const attempt = r.spans.find((s) => s.name === 'process billing');
    expect(attempt).toMatchObject({ traceId: caller.traceId, parentSpanId: send!.spanId, kind: CONSUMER, attributes: expect.objectContaining({ 'docket.job.outcome': 'succeeded' }) });
    expect(r.spans.find((s) => s.name === 'render invoice')).toMatchObject({ traceId: caller.traceId, parentSpanId: attempt!.spanId });
    expect(troubles, 'what the ingest consumer reported').toEqual([]);
  }, 60_000);
});

engines.onBoth('lease loss in a trace', () => {
  it('a job whose worker stopped heartbeating is taken back under its submit\'s span, with a docket.job.lease_lost event', async () => {
    const r = await receiver();
    const tracing = await tracingTo(r);
    const docket = await engines.open({ leaseMs: 50 });
    const caller = { traceId: hex(16), spanId: hex(8) };
    const [job] = await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme', trace: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` } });
    // Claimed by a worker that never heartbeats nor reports.
    expect(await docket.jobs.claims.claim({ workerId: 'gone', queues: ['q'], max: 1, waitMs: 0 })).toHaveLength(1);
    await until('the lease reaper to take the job back', async () => ((await docket.jobs.queries.get(job!.id))?.state === 'ready' ? true : undefined));
    await tracing.shutdown();

    const send = r.spans.find((s) => s.name === 'send q');
    expect(send).toMatchObject({ traceId: caller.traceId, parentSpanId: caller.spanId });
    const requeue = r.spans.find((s) => s.name === 'requeue q');
    expect(requeue).toMatchObject({ traceId: caller.traceId, parentSpanId: send!.spanId, attributes: expect.objectContaining({ 'docket.job.attempt': 1, 'docket.job.outcome': 'lease_lost', 'docket.worker.id': 'gone' }) });
    expect(requeue!.events).toEqual([{ name: 'docket.job.lease_lost', attributes: { 'docket.reason': 'lease_expired', 'docket.job.state': 'ready' } }]);
  }, 30_000);
});

// The exporter's protocol is the tracing SDK's alone: one embedded engine makes the span it sends.
describe('OTLP protocol', () => {
  afterEach(() => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  it('exports OTLP/HTTP protobuf by default (the spec\'s default protocol)', async () => {
    const r = await receiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = r.url;
    const { tracingOf } = await import('../src/config/sections/tracing.js');
    const config = tracingOf(process.env)!;
    expect(config.protocol).toBe('http/protobuf');
    const tracing = await startTracing(config, 'docket-test');
    const caller = { traceId: hex(16), spanId: hex(8) };
    const docket = await openEmbedded({ path: ':memory:' });
    try {
      await docket.jobs.submitter.submit([{ type: 't' }], { tenant: 'acme', trace: { traceparent: `00-${caller.traceId}-${caller.spanId}-01` } });
    } finally {
      await docket.stop();
      await tracing.shutdown();
    }
    expect(r.protobuf).toHaveLength(1);
    // The trace id travels as its 16 raw bytes, and the span's name as text.
    expect(r.protobuf[0]!.includes(Buffer.from(caller.traceId, 'hex'))).toBe(true);
    expect(r.protobuf[0]!.includes(Buffer.from('send default'))).toBe(true);
  }, 30_000);
});
