// Hostile input over real HTTP (issue 19): JSON nested past the depth limit, and the errors the
// framework and Node's HTTP server answer themselves. Each must be a 4xx application/problem+json
// that names what was wrong, never a 500 and never a plain-text or empty answer.
import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { MAX_JSON_DEPTH } from '../src/interfaces/http/json-body.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { compileIngest } from '../src/domain/ingest/rules.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { adminToken } from './helpers/auth.js';
import { testAuth } from './helpers/auth.js';

// Read as plain JSON, as a client does.
type Json = any;

let docket: Docket;
let app: FastifyInstance;
let base: string;
let token: string;
let doc: Json;

beforeAll(async () => {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({
    service: docket.service,
    workers: docket.workers,
    recovery: docket.recoveryOps,
    schedules: docket.schedules,
    auth: testAuth(),
    webhooks: docket.webhooks!.service,
    ingest: new IngestPipeline(docket.service, docket.clock, compileIngest({ rules: [{ name: 'deep', jobs: [{ type: 'deep' }] }] })),
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = await adminToken();
  doc = await (await fetch(`${base}/openapi.json`)).json();
});

afterAll(async () => {
  await app?.close();
  await docket?.stop();
});

async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body: safeJson(text) };
}

function safeJson(text: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `{"a":{"a":...}}` with `depth` objects, the innermost holding `leaf`. */
function nested(depth: number, leaf = '1'): string {
  return '{"a":'.repeat(depth - 1) + `{"a":${leaf}}` + '}'.repeat(depth - 1);
}

/** Every route of the API document that takes a JSON body, its path parameters filled in. */
function bodyRoutes(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(item)) {
      if (op?.requestBody) out.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x1') });
    }
  }
  return out;
}

function expectProblem(r: { status: number; type: string; body: Json }, status: number) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status, type: expect.stringMatching(/^urn:docket:problem:/), title: expect.any(String), detail: expect.any(String) });
}

describe('JSON nested past the depth limit', () => {
  it('every body route answers 400 naming the limit, for 5,000 and 100,000 levels', async () => {
    const routes = bodyRoutes();
    expect(routes.length).toBeGreaterThan(15);
    for (const depth of [5_000, 100_000]) {
      for (const arrays of [false, true]) {
        const body = arrays ? '['.repeat(depth) + ']'.repeat(depth) : nested(depth);
        for (const route of routes) {
          const r = await send(route.method, route.path, body);
          expectProblem(r, 400);
          expect(r.body.type).toBe('urn:docket:problem:json-too-deep');
          expect(r.body.detail).toContain(`${MAX_JSON_DEPTH} levels`);
        }
      }
    }
  });

  it('the limit holds from both sides: a payload exactly at it is accepted, one level more is refused', async () => {
    // The body {"type":..,"payload":<p>} adds one level around the payload.
    const atLimit = `{"type":"deep","payload":${nested(MAX_JSON_DEPTH - 1)}}`;
    const created = await send('POST', '/v1/jobs', atLimit);
    expect(created.status, created.text).toBe(201);
    const over = await send('POST', '/v1/jobs', `{"type":"deep","payload":${nested(MAX_JSON_DEPTH)}}`);
    expectProblem(over, 400);
    expect(over.body.detail).toContain(`${MAX_JSON_DEPTH} levels`);
  });

  it('brackets inside strings do not count', async () => {
    const text = '['.repeat(10_000) + '{'.repeat(10_000);
    const r = await send('POST', '/v1/jobs', JSON.stringify({ type: 'deep', payload: { text } }));
    expect(r.status, r.text).toBe(201);
    expect(r.body.payload.text).toBe(text);
  });
});
