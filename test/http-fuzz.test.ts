// HTTP fuzzing (issue 19): requests generated from the server's own /openapi.json for every route,
// mostly almost-valid (one field of the wrong type or past a boundary, a bad id, a deep or huge
// body, a wrong content type), against a real server: embedded, and on PostgreSQL + Redis. Never a
// 5xx; every 4xx is problem+json whose status matches; the server answers its probes afterwards;
// memory stays bounded. Seeded: FUZZ_SEED=<n> replays a run, and a failure prints its seed.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { PostgresScheduleStore } from '../src/adapters/postgres/postgres-schedule-store.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import { RedisWorkerDirectory } from '../src/adapters/redis/redis-worker-directory.js';
import { Docket, openEmbedded } from '../src/app/docket.js';
import { compileIngest } from '../src/domain/ingest/rules.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { openTestSchema } from './helpers/postgres.js';
import { openTestPrefix } from './helpers/redis.js';

// The document is read as plain JSON, as a client generator reads it.
type Json = any;

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
/** Requests per server: a few thousand in all, well under a minute on the 2-core CI machine. */
const RUNS = { embedded: 2400, production: 800 };
/** Routes that may hold a request open by design (long-poll claim, the SSE stream): they get this long. */
const LONG_POLL_MS = 300;
/** Growth of this process's RSS over a run (the server runs in it) that counts as a leak. */
const RSS_BOUND_BYTES = 400 * 1024 * 1024;

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: 'path' | 'query' | 'header'; schema: Json; required: boolean }[];
  body: Json | undefined;
}

interface Served {
  base: string;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(docket: Docket): Promise<Served> {
  const app: FastifyInstance = await buildServer({
    jobs: docket.jobs,
    workers: docket.workers,
    recovery: docket.recoveryOps,
    schedules: docket.schedules,
    auth: testAuth(),
    ...(docket.webhooks ? { webhooks: docket.webhooks.service } : {}),
    ...(docket.alerts ? { alerts: docket.alerts.store } : {}),
    ingest: new IngestPipeline(docket.jobs, docket.clock, compileIngest({ rules: [{ name: 'fuzz', jobs: [{ type: 'fuzz' }] }] })),
    ui: false,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, close: () => app.close() };
}

/** Every operation of the document, with its parameters and JSON body schema. */
function operationsOf(doc: Json): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(item)) {
      if (!op || typeof op !== 'object' || !('responses' in op)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: Json) => ({ name: p.name, in: p.in, schema: p.schema ?? {}, required: !!p.required })),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops;
}

// ---- values -----------------------------------------------------------------------------------

/** Values of no particular type: what a confused or hostile client sends instead. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, '', ' ', '0', 'null', '__proto__', '💥', '\u0000', 'a'.repeat(10_000)),
  fc.integer(),
  fc.string({ maxLength: 40 }),
  fc.array(fc.integer(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

/** Bad ids for path parameters: too long, bad percent-encoding, traversal, control characters. */
const badId = fc.oneof(
  fc.constantFrom('x'.repeat(5000), 'x'.repeat(4096), 'x'.repeat(129), '%zz', '%E0%A4%A', '%', '..', '%2e%2e', '%00', '%0a', '%ff%fe', 'a%2Fb', ' ', '💥', '-1', '0'),
  fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent),
);

/** Where a generated URL may point: refused, malformed, or a name that never resolves (no traffic leaves this machine). */
const urlValue = fc.constantFrom('http://127.0.0.1:9/x', 'http://169.254.169.254/', 'https://hooks.example.invalid/docket', 'ftp://x.invalid/', 'not a url', 'http://[::1]/', 'http://2130706433/');

function boundaryNumbers(schema: Json, integer: boolean): fc.Arbitrary<number> {
  const edges = [0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 53)];
  for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
    if (typeof schema[k] === 'number') edges.push(schema[k] - 1, schema[k], schema[k] + 1);
  }
  const near = fc.constantFrom(...edges);
  const inside = integer ? fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000 }) : fc.double({ noNaN: true, min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6 });
  return fc.oneof({ weight: 1, arbitrary: near }, { weight: 3, arbitrary: inside });
}

function stringValue(schema: Json, name: string): fc.Arbitrary<unknown> {
  if (/url$/i.test(name)) return urlValue;
  if (schema.format === 'date-time') return fc.oneof(fc.constantFrom('2026-01-31T09:00:00Z', '2026-13-01T00:00:00Z', 'yesterday', '9999-12-31T23:59:59Z'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
  const sized = fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
  if (typeof schema.pattern === 'string') {
    let matching: fc.Arbitrary<string> | undefined;
    try {
      matching = fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 256));
    } catch {
      matching = undefined;
    }
    return matching ? fc.oneof({ weight: 4, arbitrary: matching }, { weight: 1, arbitrary: sized }) : sized;
  }
  const edges = typeof schema.maxLength === 'number' ? [fc.constant('x'.repeat(schema.maxLength)), fc.constant('x'.repeat(schema.maxLength + 1))] : [];
  return fc.oneof(sized, ...edges);
}

/**
 * A value for `schema`: usually one it accepts (so requests reach the handlers), with a small
 * chance at every field of a wrong type, a missing required field, or an unknown field.
 */
function valueOf(schema: Json, depth = 0, name = ''): fc.Arbitrary<unknown> {
  const right = rightValueOf(schema ?? {}, depth, name);
  return fc.oneof({ weight: 30, arbitrary: right }, { weight: 1, arbitrary: wrongValue });
}

function rightValueOf(schema: Json, depth: number, name: string): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constant(null);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants) && variants.length > 0) return fc.oneof(...variants.map((v: Json) => rightValueOf(v, depth + 1, name)));
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const props: Record<string, Json> = schema.properties ?? {};
      const required = new Set<string>(schema.required ?? []);
      const keys = Object.keys(props);
      if (keys.length === 0) return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      const record = fc.record(Object.fromEntries(keys.map((k) => [k, valueOf(props[k], depth + 1, k)])), {
        requiredKeys: keys.filter((k) => required.has(k)),
      });
      return fc.tuple(record, fc.nat(40), fc.jsonValue({ maxDepth: 1 })).map(([value, dice, extra]) => {
        const out: Record<string, unknown> = { ...(value as object) };
        if (dice === 0 && required.size > 0) delete out[[...required][0]!]; // a required field missing
        if (dice === 1) out.unknownField = extra; // a field the API does not know
        return out;
      });
    }
    case 'array': {
      const items = schema.items ?? {};
      const max = Math.min(schema.maxItems ?? 4, 4);
      return fc.array(valueOf(items, depth + 1, name), { minLength: Math.min(schema.minItems ?? 0, max), maxLength: max });
    }
    case 'integer':
      return boundaryNumbers(schema, true);
    case 'number':
      return boundaryNumbers(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return stringValue(schema, name);
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

// ---- requests ---------------------------------------------------------------------------------

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** What the generator aimed at, for the failure report. */
  note: string;
}

function nested(depth: number, arrays: boolean): string {
  return arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Bodies that are not what the schema wants at all. */
const hostileBody = fc.oneof(
  fc.constantFrom(
    { text: nested(99, false), note: 'nesting just inside the limit' },
    { text: nested(101, false), note: 'nesting just past the limit' },
    { text: nested(20_000, true), note: 'deep arrays' },
    { text: `{"payload":${nested(5_000, false)}}`, note: 'deep payload' },
    { text: '{"a":', note: 'truncated JSON' },
    { text: '{"__proto__":{"x":1}}', note: 'prototype poisoning' },
    { text: '{"constructor":{"prototype":{"x":1}}}', note: 'constructor poisoning' },
    { text: 'null', note: 'null body' },
    { text: '"just a string"', note: 'string body' },
    { text: '[]', note: 'array body' },
    { text: '1e999', note: 'number out of range' },
    { text: '\uFEFF{}', note: 'byte order mark' },
    { text: `{"a":"${'x'.repeat(5 * 1024 * 1024)}"}`, note: 'body over the 4 MiB limit' },
    { text: `{"jobs":[${Array.from({ length: 3000 }, () => '{"type":"fuzz"}').join(',')}]}`, note: 'a large bulk' },
  ),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ text: JSON.stringify(v), note: 'arbitrary JSON' })),
  fc.string({ maxLength: 60 }).map((text) => ({ text, note: 'arbitrary text' })),
);

const badContentType = fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/jsonx', '', 'application/problem+json');

function requestFor(op: Operation, tokens: Record<string, string>, known: string[]): fc.Arbitrary<Request> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const path = fc
    .tuple(
      ...pathParams.map((p) =>
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...known) },
          { weight: 2, arbitrary: valueOf(p.schema, 0, p.name).map((v) => encodeURIComponent(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'x'))) },
          { weight: 1, arbitrary: badId },
        ),
      ),
    )
    .map((values) => {
    let out = op.path;
    pathParams.forEach((p, i) => (out = out.replace(`{${p.name}}`, values[i] === '' ? 'x' : values[i]!)));
    return out;
  });
  const query = fc
    .tuple(...queryParams.map((p) => fc.option(valueOf(p.schema, 0, p.name), { nil: undefined })))
    .map((values) => {
      const parts: string[] = [];
      queryParams.forEach((p, i) => {
        const v = values[i];
        if (v === undefined) return;
        parts.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`);
      });
      return parts.length > 0 ? `?${parts.join('&')}` : '';
    });
  const body: fc.Arbitrary<{ text?: string; note: string; type?: string }> = op.body
    ? fc.oneof(
        { weight: 8, arbitrary: valueOf(op.body).map((v) => ({ text: JSON.stringify(v), note: 'schema-shaped body' })) },
        { weight: 2, arbitrary: hostileBody },
        { weight: 1, arbitrary: fc.tuple(valueOf(op.body), badContentType).map(([v, type]) => ({ text: JSON.stringify(v), type, note: `content-type ${type}` })) },
        { weight: 1, arbitrary: fc.constant({ note: 'no body' }) },
      )
    : fc.oneof({ weight: 6, arbitrary: fc.constant({ note: 'no body' }) }, { weight: 1, arbitrary: hostileBody });
  const who = fc.oneof({ weight: 12, arbitrary: fc.constant('admin') }, { weight: 1, arbitrary: fc.constantFrom('submitter', 'worker', 'cluster-worker', 'viewer', 'none', 'garbage') });
  const method = fc.oneof({ weight: 20, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'GET', 'POST') });
  return fc.record({ path, query, body, who, method }).map(({ path, query, body, who, method }) => {
    const headers: Record<string, string> = {};
    if (who === 'garbage') headers.authorization = 'Bearer not.a.token';
    else if (who !== 'none') headers.authorization = `Bearer ${tokens[who]}`;
    if (body.text !== undefined) headers['content-type'] = body.type ?? 'application/json';
    const request: Request = { method, path: path + query, headers, note: `${who}; ${body.note}` };
    if (body.text !== undefined && method !== 'GET') request.body = body.text;
    return request;
  });
}

// ---- the check --------------------------------------------------------------------------------

const LONG_POLLS = [/\/claim$/, /^\/v1\/claims$/, /\/v1\/events\/stream/];

/** Answers per status class over a run (the requests must reach the handlers, not only validation). */
const statuses = new Map<string, number>();

async function check(base: string, r: Request): Promise<void> {
  const longPoll = LONG_POLLS.some((p) => p.test(r.path.split('?')[0]!));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), longPoll ? LONG_POLL_MS : 20_000);
  let res: Response;
  try {
    res = await fetch(base + r.path, { method: r.method, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}), signal: controller.signal });
  } catch (err) {
    clearTimeout(timer);
    if (longPoll && controller.signal.aborted) return; // held open as designed
    throw new Error(`${r.method} ${r.path.slice(0, 200)} (${r.note}): no answer: ${(err as Error).message}`);
  }
  const type = res.headers.get('content-type') ?? '';
  // The SSE stream never ends: its head is the answer.
  const text = type.startsWith('text/event-stream') ? '' : await res.text().catch((err: Error) => (longPoll ? '' : Promise.reject(err)));
  clearTimeout(timer);
  controller.abort();
  const what = `${r.method} ${r.path.slice(0, 200)} (${r.note}) -> ${res.status} ${type}: ${text.slice(0, 300)}`;
  const kind = `${Math.floor(res.status / 100)}xx`;
  statuses.set(kind, (statuses.get(kind) ?? 0) + 1);
  if (res.status >= 500) throw new Error(`a 5xx: ${what}`);
  if (res.status >= 400) {
    if (!type.startsWith('application/problem+json')) throw new Error(`a 4xx that is not problem+json: ${what}`);
    const problem = JSON.parse(text) as { status?: unknown; type?: unknown; title?: unknown; detail?: unknown };
    if (problem.status !== res.status || typeof problem.type !== 'string' || typeof problem.title !== 'string' || typeof problem.detail !== 'string') {
      throw new Error(`a problem without status/type/title/detail: ${what}`);
    }
  }
}

/**
 * Objects for path parameters to name, so requests reach handlers past the lookup: a job, a
 * finished job, a template, a schedule, a webhook (to a name that never resolves) and a worker.
 */
async function seedObjects(base: string, admin: string): Promise<string[]> {
  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', 'docket-tenant': 'acme' }, body: JSON.stringify(body) });
    expect(res.status, path).toBeLessThan(300);
    return (await res.json()) as Json;
  };
  const job = await post('/v1/jobs', { type: 'fuzz', queue: 'fuzz' });
  const done = await post('/v1/jobs', { type: 'fuzz', queue: 'fuzz' });
  await post(`/v1/jobs/${done.id}/cancel`, {});
  const template = await post('/v1/templates', { id: 'fuzz', defaults: { type: 'fuzz' } });
  const schedule = await post('/v1/schedules', { name: 'fuzz', cron: '@daily', job: { type: 'fuzz' } });
  const webhook = await post('/v1/webhooks', { url: 'https://hooks.example.invalid/fuzz' });
  const worker = await post('/v1/workers', { queues: ['fuzz'] });
  return [job.id, done.id, template.id, schedule.id, webhook.id, worker.id, 'fuzz', 'default'];
}

async function fuzz(served: Served, runs: number): Promise<void> {
  const doc = (await (await fetch(`${served.base}/openapi.json`)).json()) as Json;
  const ops = operationsOf(doc);
  expect(ops.length).toBeGreaterThan(50);
  const tokens: Record<string, string> = {
    admin: await tokenFor('acme', ['admin']),
    submitter: await tokenFor('acme', ['submitter']),
    worker: await tokenFor('acme', ['worker']),
    'cluster-worker': await tokenFor('ops', ['cluster-worker']),
    viewer: await tokenFor('acme', ['viewer']),
  };
  const known = await seedObjects(served.base, tokens.admin!);
  // Every operation gets requests: runs are spread over them, then shuffled by the generator.
  const request = fc.oneof(...ops.map((op) => requestFor(op, tokens, known)));
  const rssBefore = process.memoryUsage().rss;
  statuses.clear();
  try {
    await fc.assert(
      fc.asyncProperty(request, (r) => check(served.base, r)),
      { seed: SEED, numRuns: runs, endOnFailure: true },
    );
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    throw new Error(`HTTP fuzzing failed with FUZZ_SEED=${SEED} (replay: FUZZ_SEED=${SEED} npx vitest run test/http-fuzz.test.ts)\n${(err as Error).message}${cause ? `\n${cause.message}` : ''}`);
  }
  // The generator reaches the handlers: a good share of requests succeed, and many are refused.
  const counted = Object.fromEntries(statuses);
  expect((counted['2xx'] ?? 0) / runs, JSON.stringify(counted)).toBeGreaterThan(0.1);
  expect((counted['4xx'] ?? 0) / runs, JSON.stringify(counted)).toBeGreaterThan(0.2);
  // Alive and well: the probes answer, and so does a plain request.
  expect((await fetch(`${served.base}/healthz`)).status).toBe(200);
  expect((await fetch(`${served.base}/readyz`)).status).toBe(200);
  expect((await fetch(`${served.base}/v1/jobs?limit=1`, { headers: { authorization: `Bearer ${tokens.admin}` } })).status).toBe(200);
  const grown = process.memoryUsage().rss - rssBefore;
  expect(grown, `RSS grew by ${Math.round(grown / 1048576)} MiB over ${runs} requests`).toBeLessThan(RSS_BOUND_BYTES);
}

describe(`HTTP fuzzing from /openapi.json (FUZZ_SEED=${SEED})`, () => {
  it(`embedded (SQLite, memory dispatch): ${RUNS.embedded} requests`, async () => {
    const docket = await openEmbedded({ path: ':memory:' });
    cleanups.push(() => docket.stop());
    const served = await serve(docket);
    cleanups.push(() => served.close());
    await fuzz(served, RUNS.embedded);
  }, 120_000);

  it(`production (PostgreSQL, Redis): ${RUNS.production} requests`, async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    cleanups.push(drop);
    const { url, prefix, cleanup } = await openTestPrefix();
    cleanups.push(cleanup);
    const clock = new SystemClock();
    const store = new PostgresStore({ connectionString, schema, max: 4 });
    const docket = new Docket({
      store,
      dispatch: new RedisDispatch({ url, prefix, clock }),
      workers: new RedisWorkerDirectory({ url, prefix, clock }),
      schedules: new PostgresScheduleStore(store),
      clock,
    });
    await docket.start();
    cleanups.push(() => docket.stop());
    const served = await serve(docket);
    cleanups.push(() => served.close());
    await fuzz(served, RUNS.production);
  }, 120_000);
});
