// Error -> problem+json (src/interfaces/http/problem.ts, framework-errors.ts), through a small
// Fastify app wired as server.ts wires it: each domain error's status, type and named fields, the
// validator's messages per rule, and the answers written on the socket for what Node refuses.
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, DocketError, ForbiddenError, IdempotencyConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../src/domain/errors.js';
import { BackoffSchema, NAME_PATTERN } from '../src/domain/job-input.js';
import { clientErrorHandler, frameworkErrors, installMethodNotAllowed, refuseNulInUrl } from '../src/interfaces/http/framework-errors.js';
import { applied, installProblemHandling, validatorCompiler } from '../src/interfaces/http/problem.js';

let app: FastifyInstance;

const THROWN: Record<string, () => Error> = {
  validation: () => new ValidationError([{ path: '/priority', message: 'too high' }]),
  'too-large': () => new PayloadTooLargeError('/payload', 2000, 1000),
  'not-found': () => new NotFoundError('template', 'welcome'),
  forbidden: () => new ForbiddenError('tenant acme may not do that'),
  conflict: () => new ConflictError('template_in_use', 'template welcome is in use', [{ path: '/id', message: 'in use' }]),
  idem: () => new IdempotencyConflictError('k-1'),
  docket: () => new DocketError('queue_paused', 'queue q is paused'),
  teapot: () => Object.assign(new Error('short and stout'), { statusCode: 418 }),
  bug: () => new TypeError('cannot read properties of undefined'),
  outage: () => Object.assign(new Error('the database system is shutting down'), { code: '57P03' }),
};

beforeAll(async () => {
  app = Fastify({ bodyLimit: 1000, routerOptions: { maxParamLength: 10 }, frameworkErrors: frameworkErrors(10) });
  app.setValidatorCompiler(validatorCompiler);
  installProblemHandling(app);
  installMethodNotAllowed(app);
  refuseNulInUrl(app);
  app.route({ method: ['GET', 'PUT'], url: '/items/:id', handler: async (request) => request.params });
  app.get('/files/*', async () => ({ ok: true }));
  app.post(
    '/things',
    {
      schema: {
        body: Type.Object(
          {
            name: Type.String({ pattern: NAME_PATTERN }),
            code: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'three capital letters' })),
            bare: Type.Optional(Type.String({ pattern: '^x+$' })),
            priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
            ratio: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            count: Type.Optional(Type.Integer({ minimum: 1 })),
            at: Type.Optional(Type.String({ format: 'date-time' })),
            state: Type.Optional(Type.Union([Type.Literal('ready'), Type.Literal('running')])),
            backoff: Type.Optional(BackoffSchema),
            labels: Type.Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), Type.String(), { additionalProperties: false })),
            tags: Type.Optional(Type.Array(Type.String({ maxLength: 3 }))),
          },
          { additionalProperties: false },
        ),
      },
    },
    async () => ({ ok: true }),
  );
  app.get('/things', { schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }) } }, async (request) => request.query);
  app.get('/throw/:kind', async (request) => {
    throw THROWN[(request.params as { kind: string }).kind]!();
  });
  app.post('/jobs/:id/complete', async (request) => {
    const id = (request.params as { id: string }).id;
    const results = {
      missing: { ok: false as const, reason: 'not_found' as const },
      done: { ok: false as const, reason: 'wrong_state' as const, state: 'succeeded' as const },
      fine: { ok: true as const, job: { id } },
    };
    return applied(id, results[id as keyof typeof results]);
  });
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function call(method: 'GET' | 'POST', url: string, body?: unknown) {
  const res = await app.inject({ method, url, ...(body === undefined ? {} : { payload: body as object }) });
  return { status: res.statusCode, type: res.headers['content-type'], body: res.json(), headers: res.headers };
}
const post = (body: unknown) => call('POST', '/things', body);
/** The message the validator gives each field, by path. */
const fieldMessages = async (body: unknown) => Object.fromEntries(((await post(body)).body.errors as { path: string; message: string }[]).map((e) => [e.path, e.message]));

describe('domain errors', () => {
  it.each([
    ['validation', 400, 'invalid-input', { errors: [{ path: '/priority', message: 'too high' }] }],
    ['too-large', 413, 'payload-too-large', { errors: [{ path: '/payload', message: 'over the limit of 1000 bytes' }] }],
    ['not-found', 404, 'not-found', { detail: 'template welcome not found' }],
    ['forbidden', 403, 'forbidden', { detail: 'tenant acme may not do that' }],
    ['conflict', 409, 'template-in-use', { errors: [{ path: '/id', message: 'in use' }] }],
    ['idem', 422, 'idempotency-key-reused', {}],
    ['docket', 400, 'queue-paused', { title: 'Bad Request', detail: 'queue q is paused' }],
    ['teapot', 418, 'bad-request', { detail: 'short and stout' }],
    ['bug', 500, 'internal', { detail: 'the server failed to handle the request; see its log' }],
    ['outage', 503, 'engine-unavailable', { detail: 'PostgreSQL is unavailable; retry in 5 s' }],
  ])('%s is %i %s', async (kind, status, slug, extra) => {
    const res = await call('GET', `/throw/${kind}?secret=1`);
    expect(res.status).toBe(status);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: `urn:docket:problem:${slug}`, status, instance: `/throw/${kind}`, ...extra });
    if (!('errors' in extra)) expect(res.body.errors).toBeUndefined();
  });

  it('a 500 says nothing internal', async () => {
    expect(JSON.stringify((await call('GET', '/throw/bug')).body)).not.toContain('undefined');
  });

  it('a move that did not apply: 404 for an unknown job, 409 with the state it is in', async () => {
    expect((await call('POST', '/jobs/missing/complete')).body).toMatchObject({ status: 404, type: 'urn:docket:problem:not-found', title: 'Not Found', detail: 'job missing not found' });
    const done = await call('POST', '/jobs/done/complete');
    expect(done.body).toMatchObject({ status: 409, type: 'urn:docket:problem:wrong-state', title: 'Conflict', state: 'succeeded', detail: 'job done is succeeded' });
    expect(await call('POST', '/jobs/fine/complete')).toMatchObject({ status: 200, body: { ok: true, job: { id: 'fine' } } });
  });
});

describe('request validation', () => {
  it('names each field with a message a person can act on', async () => {
    expect(
      await fieldMessages({
        name: 'no spaces',
        code: 'abc',
        bare: 'y',
        priority: 11,
        ratio: 2,
        count: 0,
        at: 'tomorrow',
        state: 'done',
        labels: { 'bad key': 'v' },
        extra: 1,
      }),
    ).toEqual({
      '/name': '"no spaces" is not a valid name (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
      '/code': '"abc" is not valid: three capital letters (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
      '/bare': '"y" is not valid: must match ^x+$ (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
      '/priority': 'must be a whole number from 1 to 10 (got 11)',
      '/ratio': 'must be a number from 0 to 1 (got 2)',
      '/count': 'Expected integer to be greater or equal to 1 (got 0)',
      '/at': '"tomorrow" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z',
      '/state': 'must be one of "ready", "running" (got "done")',
      '/labels/bad key': '"bad key" is not a valid key (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
      '/extra': 'unknown field',
    });
    expect(await fieldMessages({})).toEqual({ '/name': 'required' });
  });

  it('reports a bad union member by the variant that came closest', async () => {
    expect(await fieldMessages({ name: 'n', backoff: { type: 'fixed', delayMs: -1 } })).toEqual({
      '/backoff/delayMs': 'must be a whole number from 0 to 2592000000 (got -1)',
    });
  });

  it('summarizes the first five fields in the detail and counts the rest', async () => {
    const res = await post({ name: 'n', tags: ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee', 'ffff', 'gggg'] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(7);
    expect(res.body.detail).toMatch(/^invalid request body: \/tags\/0: .*; \/tags\/4: [^;]*; and 2 more$/);
  });

  it('converts the query string to its declared types, and names a bad one under querystring', async () => {
    expect(await call('GET', '/things?limit=5')).toMatchObject({ status: 200, body: { limit: 5 } });
    const bad = await call('GET', '/things?limit=500');
    expect(bad.body).toMatchObject({ status: 400, detail: 'invalid querystring: /limit: must be a whole number from 1 to 100 (got 500)' });
  });

  it('checks a body as sent: "5" is not a number', async () => {
    expect(await fieldMessages({ name: 'n', priority: '5' })).toEqual({ '/priority': 'must be a whole number from 1 to 10 (got "5")' });
  });
});

describe('the framework\'s own refusals', () => {
  it('malformed JSON, an empty JSON body and another media type are problems', async () => {
    const malformed = await app.inject({ method: 'POST', url: '/things', payload: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(malformed.json()).toMatchObject({ status: 400, type: 'urn:docket:problem:malformed-json', title: 'Malformed JSON' });
    const empty = await app.inject({ method: 'POST', url: '/things', payload: '', headers: { 'content-type': 'application/json' } });
    expect(empty.json()).toMatchObject({ status: 400, type: 'urn:docket:problem:malformed-json' });
    const xml = await app.inject({ method: 'POST', url: '/things', payload: '<a/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.json()).toMatchObject({ status: 415, detail: 'content-type "application/xml" is not supported; send application/json' });
    const big = await app.inject({ method: 'POST', url: '/things', payload: JSON.stringify({ name: 'x'.repeat(2000) }), headers: { 'content-type': 'application/json' } });
    expect(big.json()).toMatchObject({ status: 413, type: 'urn:docket:problem:payload-too-large', detail: 'request body over the limit of 1000 bytes' });
  });

  it('a known path with another method is 405 with Allow; an unknown one 404', async () => {
    const res = await app.inject({ method: 'DELETE', url: '/things?x=1' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.json()).toMatchObject({ type: 'urn:docket:problem:method-not-allowed', instance: '/things' });
    expect((await app.inject({ method: 'GET', url: '/nothing' })).json()).toMatchObject({ status: 404, detail: 'no route GET /nothing' });
  });
});

describe('the router\'s refusals', () => {
  it('a path parameter over the limit is 414; one at the limit is routed', async () => {
    expect((await app.inject({ method: 'GET', url: `/items/${'x'.repeat(11)}` })).json()).toMatchObject({
      status: 414,
      type: 'urn:docket:problem:uri-too-long',
      detail: 'a path parameter is longer than 10 characters',
    });
    expect((await app.inject({ method: 'GET', url: `/items/${'x'.repeat(10)}` })).json()).toEqual({ id: 'x'.repeat(10) });
  });

  it('a bad percent-encoding is 400 bad-url, a %00 anywhere 400 nul-character', async () => {
    expect((await app.inject({ method: 'GET', url: '/items/%E0%A4%A' })).json()).toMatchObject({ status: 400, type: 'urn:docket:problem:bad-url' });
    expect((await app.inject({ method: 'GET', url: '/items/a?q=%00' })).json()).toMatchObject({ status: 400, type: 'urn:docket:problem:nul-character' });
  });

  it('405 knows routes with several methods and wildcard paths', async () => {
    const items = await app.inject({ method: 'DELETE', url: '/items/7' });
    expect([items.statusCode, items.headers.allow]).toEqual([405, 'GET, HEAD, PUT']);
    const files = await app.inject({ method: 'POST', url: '/files/a/b.txt' });
    expect([files.statusCode, files.headers.allow]).toEqual([405, 'GET, HEAD']);
  });
});

describe('clientErrorHandler (what Node refuses before Fastify)', () => {
  /** A socket that records what is written to it. */
  function socket(state: { destroyed?: boolean; writable?: boolean } = {}) {
    const out = { written: '', destroyed: state.destroyed ?? false, writable: state.writable ?? true };
    const s = {
      get destroyed() {
        return out.destroyed;
      },
      get writable() {
        return out.writable;
      },
      write: (text: string) => void (out.written += text),
      destroy: () => void (out.destroyed = true),
    } as unknown as Socket;
    return { s, out };
  }
  const answer = (written: string) => ({ head: written.split('\r\n')[0], body: JSON.parse(written.split('\r\n\r\n')[1]!) });

  it('answers a timeout with 408 and the path of the request line, without its query', () => {
    const { s, out } = socket();
    clientErrorHandler(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT', rawPacket: Buffer.from('GET /v1/jobs?token=secret HTTP/1.1\r\nHost: x\r\n') }), s);
    expect(answer(out.written)).toEqual({
      head: 'HTTP/1.1 408 Request Timeout',
      body: { type: 'urn:docket:problem:request-timeout', title: 'Request Timeout', status: 408, detail: 'the request did not arrive in time', instance: '/v1/jobs' },
    });
    expect(out.destroyed).toBe(true);
  });

  it('names / when the request line has no path it can show', () => {
    for (const rawPacket of [Buffer.from('GET http://evil.example/ HTTP/1.1\r\n'), Buffer.from('garbage'), undefined]) {
      const { s, out } = socket();
      clientErrorHandler(Object.assign(new Error('parse'), { code: 'HPE_INVALID_METHOD', rawPacket }), s);
      expect(answer(out.written).body).toMatchObject({ status: 400, instance: '/' });
    }
  });

  it('writes nothing to a reset, destroyed or unwritable connection', () => {
    const reset = socket();
    clientErrorHandler(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), reset.s);
    const gone = socket({ destroyed: true });
    clientErrorHandler(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }), gone.s);
    const closing = socket({ writable: false });
    clientErrorHandler(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }), closing.s);
    expect([reset.out.written, gone.out.written, closing.out.written]).toEqual(['', '', '']);
    expect(closing.out.destroyed).toBe(true);
  });
});
