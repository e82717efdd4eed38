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
import { adminToken, testAuth } from './helpers/auth.js';

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
    jobs: docket.jobs,
    workers: docket.workers,
    recovery: docket.recoveryOps,
    schedules: docket.schedules,
    auth: testAuth(),
    webhooks: docket.webhooks!.service,
    ingest: new IngestPipeline(docket.jobs, docket.clock, compileIngest({ rules: [{ name: 'deep', jobs: [{ type: 'deep' }] }] })),
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

/** Sends raw bytes on a fresh connection and reads the whole answer (the server closes or answers once). */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: Json; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const done = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const body = rest.join('\r\n\r\n');
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text: body, body: safeJson(body) });
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is all we wait for: complete once the declared body has arrived.
      const text = Buffer.concat(chunks).toString('utf8');
      const at = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text.slice(0, at));
      if (at >= 0 && length && Buffer.byteLength(text.slice(at + 4)) >= Number(length[1])) {
        socket.destroy();
        done();
      }
    });
    socket.on('end', done);
    socket.on('error', (err) => (chunks.length > 0 ? done() : reject(err)));
    socket.write(request);
  });
}

describe('errors the framework and the HTTP server answer themselves', () => {
  const auth = () => `Bearer ${token}`;

  it('a bad percent-encoding in a path is 400 problem+json', async () => {
    for (const path of ['/v1/jobs/%E0%A4%A', '/v1/jobs/%zz', '/v1/webhooks/%']) {
      const r = await send('GET', path);
      expectProblem(r, 400);
      expect(r.body.type).toBe('urn:docket:problem:bad-url');
      expect(r.body.detail).toContain('percent-encoding');
    }
  });

  it('a path parameter over the limit is 414 problem+json; one at the limit is routed', async () => {
    const over = await send('GET', `/v1/jobs/${'a'.repeat(5000)}`);
    expectProblem(over, 414);
    expect(over.body.type).toBe('urn:docket:problem:uri-too-long');
    expect(over.body.detail).toContain('4096');
    // At the limit the route answers: validation names the id as too long for a job id.
    const at = await send('GET', `/v1/jobs/${'a'.repeat(4096)}`);
    expectProblem(at, 400);
    expect(at.body.errors).toMatchObject([{ path: '/id' }]);
  });

  it('an oversized header is 431 problem+json (Node answers it before the framework)', async () => {
    const r = await raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.body).toMatchObject({ status: 431, type: 'urn:docket:problem:headers-too-large', detail: expect.stringContaining('header') });
  });

  it('a request that is not HTTP is 400 problem+json', async () => {
    const r = await raw('BREW /v1/jobs HTCPCP/1.0\r\n\r\n');
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.body).toMatchObject({ status: 400, type: 'urn:docket:problem:bad-request' });
  });

  it('an unknown route is 404, a known path with another method 405 with Allow', async () => {
    const unknown = await send('GET', '/v1/nothing-here');
    expectProblem(unknown, 404);
    const wrong = await fetch(`${base}/v1/jobs/some-id`, { method: 'PUT', headers: { authorization: auth() } });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
    expect(wrong.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD']);
    const problem = (await wrong.json()) as Json;
    expect(problem).toMatchObject({ status: 405, type: 'urn:docket:problem:method-not-allowed' });
    expect(problem.detail).toContain('PUT');
    const del = await fetch(`${base}/v1/jobs`, { method: 'DELETE', headers: { authorization: auth() } });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });

  it('another content type is 415, a body over the limit 413, both problem+json', async () => {
    const text = await send('POST', '/v1/jobs', 'type=x', { 'content-type': 'text/plain' });
    expectProblem(text, 415);
    expect(text.body.detail).toContain('application/json');
    const form = await send('POST', '/v1/jobs', 'type=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expectProblem(form, 415);
    const big = await send('POST', '/v1/jobs', JSON.stringify({ type: 'x', payload: 'a'.repeat(5 * 1024 * 1024) }));
    expectProblem(big, 413);
    expect(big.body.detail).toContain('over the limit');
  });
});

describe('NUL characters (PostgreSQL stores none: a lookup by such an id failed there)', () => {
  it('a %00 in the path or query is 400 before any route runs', async () => {
    for (const path of ['/v1/webhooks/%00', '/v1/jobs/a%00b', '/v1/jobs?queue=%00']) {
      const r = await send('GET', path);
      expectProblem(r, 400);
      expect(r.body.type).toBe('urn:docket:problem:nul-character');
    }
  });

  it('a \\u0000 in a body string is 400; an escaped backslash before u0000 is plain text', async () => {
    const r = await send('POST', '/v1/jobs', '{"type":"nul","payload":{"a":"x\\u0000y"}}');
    expectProblem(r, 400);
    expect(r.body.detail).toContain('NUL');
    const text = await send('POST', '/v1/jobs', JSON.stringify({ type: 'nul', payload: { a: 'x\\u0000y' } }));
    expect(text.status, text.text).toBe(201);
    expect(text.body.payload.a).toBe('x\\u0000y');
  });
});
