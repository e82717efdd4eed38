// Trace context without an SDK (tracing off, the default): what a submit carries into the job, from
// headers, the active context of an in-process submit or of a DocketClient call; what is ignored;
// and which OTEL_* settings turn tracing on, or stop the start with a message naming the variable.
import { context, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { ConfigError } from '../src/config/errors.js';
import { tracingOf } from '../src/config/sections/tracing.js';
import { carrierOfHeaders } from '../src/domain/trace-context.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { adminToken, testAuth } from './helpers/auth.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = `00-${TRACE}-${SPAN}-01`;

describe('W3C traceparent', () => {
  it('is kept when valid (normalized to lower case, tracestate with it) and ignored otherwise, as the W3C spec asks', () => {
    expect(carrierOfHeaders({ traceparent: PARENT.toUpperCase(), tracestate: 'acme=1,other=2' })).toEqual({ traceparent: PARENT, tracestate: 'acme=1,other=2' });
    expect(carrierOfHeaders(new Map([['TraceParent', PARENT]]))).toEqual({ traceparent: PARENT });
    for (const bad of [
      `00-${TRACE}-${SPAN}`, // a field missing
      `00-${TRACE.slice(1)}-${SPAN}-01`, // short trace id
      `ff-${TRACE}-${SPAN}-01`, // the forbidden version
      `00-${'0'.repeat(32)}-${SPAN}-01`, // all-zero trace id
      `00-${TRACE}-${'0'.repeat(16)}-01`, // all-zero span id
      `00-${TRACE}-${SPAN}-01-extra`, // version 00 has exactly four fields
      `00-${TRACE}-${SPAN}-zz`,
    ]) {
      expect(carrierOfHeaders({ traceparent: bad, tracestate: 'acme=1' }), bad).toBeNull();
    }
    // A later version may add fields: its first four are read.
    expect(carrierOfHeaders({ traceparent: `01-${TRACE}-${SPAN}-01-more` })).toEqual({ traceparent: PARENT });
    expect(carrierOfHeaders({ tracestate: 'acme=1' })).toBeNull();
  });
});

describe('OTEL_* settings (tracing is off unless they ask)', () => {
  it('turns tracing on for an OTLP endpoint or exporter, off by default and for none or OTEL_SDK_DISABLED', () => {
    expect(tracingOf({})).toBeNull();
    expect(tracingOf({ OTEL_SERVICE_NAME: 'x' })).toBeNull();
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toMatchObject({ exporter: 'otlp', protocol: 'http/protobuf', sampler: { name: 'parentbased_always_on' } });
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toMatchObject({ exporter: 'otlp', protocol: 'http/json' });
    expect(tracingOf({ OTEL_TRACES_EXPORTER: 'console' })).toMatchObject({ exporter: 'console' });
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toMatchObject({
      batch: { scheduledDelayMillis: 200 },
      sampler: { name: 'traceidratio', ratio: 0.25 },
    });
  });

  it('refuses what it cannot honour, naming the variable', () => {
    const refused = (env: Record<string, string>) => {
      try {
        tracingOf(env);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(env)}`);
    };
    expect(refused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/^OTEL_EXPORTER_OTLP_PROTOCOL=grpc: .*http\/protobuf/);
    expect(refused({ OTEL_TRACES_EXPORTER: 'zipkin' })).toMatch(/^OTEL_TRACES_EXPORTER=zipkin: give one of otlp/);
    expect(refused({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toMatch(/^OTEL_TRACES_SAMPLER_ARG=2: /);
    expect(refused({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toMatch(/^OTEL_BSP_SCHEDULE_DELAY=soon: /);
  });
});

describe('a job carries its submit\'s context, tracing off', () => {
  let docket: Docket;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  const manager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    // A context manager and no tracer provider: contexts flow, spans are no-ops.
    context.setGlobalContextManager(manager.enable());
  });
  afterAll(() => {
    context.disable();
  });

  afterEach(async () => {
    await app?.close();
    await docket?.stop();
  });

  async function start() {
    docket = await openEmbedded({ path: ':memory:' });
    app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    token = await adminToken();
  }

  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };

  const inSpan = <T>(fn: () => T): T => context.with(trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE, spanId: SPAN, traceFlags: 1, isRemote: false }), fn);

  it('from the headers of a bulk submit (every job) and unchanged; an invalid traceparent is ignored and the submit goes on', async () => {
    await start();
    const bulk = await post('/v1/jobs/bulk', { jobs: [{ type: 'a' }, { type: 'b' }] }, { traceparent: PARENT, tracestate: 'acme=1' });
    expect(bulk.status).toBe(201);
    expect(bulk.body.jobs.map((j: any) => j.traceContext)).toEqual([
      { traceparent: PARENT, tracestate: 'acme=1' },
      { traceparent: PARENT, tracestate: 'acme=1' },
    ]);
    const read = await docket.jobs.queries.get(bulk.body.jobs[0].id);
    expect(read?.traceContext).toEqual({ traceparent: PARENT, tracestate: 'acme=1' });

    const bad = await post('/v1/jobs', { type: 'a' }, { traceparent: 'not-a-traceparent' });
    expect(bad.status).toBe(201);
    expect(bad.body).not.toHaveProperty('traceContext');
  });

  it('from the active context of an in-process submit, and of a DocketClient call', async () => {
    await start();
    const [local] = await inSpan(() => docket.jobs.submitter.submit([{ type: 'a' }], { tenant: 'default' }));
    expect(local!.traceContext).toEqual({ traceparent: PARENT });
    const client = new DocketClient({ baseUrl: base, token });
    const remote = await inSpan(() => client.submit({ type: 'a' }));
    expect(remote.traceContext).toEqual({ traceparent: PARENT });
    // Outside any span: none.
    expect((await client.submit({ type: 'a' })).traceContext).toBeUndefined();
  });
});
