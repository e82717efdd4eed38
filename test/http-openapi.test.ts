import { compileErrors, validate } from '@readme/openapi-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { NAME_PATTERN } from '../src/domain/job-input.js';
import { ProblemSchema, SubmitBody } from '../src/interfaces/http/schemas.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth } from './helpers/auth.js';

/* The OpenAPI document and docs page, read over HTTP as a client or a code generator would. */

// Loosely typed on purpose: the test reads the document as plain JSON, like its users do.
type Json = any;

// Taken before the document is generated (on its first request): generating it must not change
// the schemas the routes validate with.
const schemasBefore = JSON.stringify([SubmitBody, ProblemSchema]);

let docket: Docket;
let app: FastifyInstance;
let base: string;
let doc: Json;

beforeAll(async () => {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), webhooks: docket.webhooks!.service });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  doc = await res.json();
});

afterAll(async () => {
  await app?.close();
  await docket?.stop();
});

/**
 * Every method and path the server routes, read from Fastify's own route tree, so a route added
 * later is checked without editing this test. printRoutes draws one node per line, indented four
 * columns per level, with the methods in parentheses; a node's full path is its ancestors' joined.
 */
function registeredRoutes(): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    segments.length = m[1]!.length / 4;
    segments.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) routes.push({ method, path: segments.join('') });
  }
  return routes;
}

/** /v1/jobs/:id -> /v1/jobs/{id}, as OpenAPI writes path parameters. */
const openapiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** The API's routes: everything under /v1 but Fastify's automatic HEAD twins of GET routes. */
const apiRoutes = () => registeredRoutes().filter((r) => r.path.startsWith('/v1/') && r.method !== 'HEAD');

const operations = (): [string, string, Json][] =>
  Object.entries(doc.paths as Json).flatMap(([path, item]) => Object.entries(item as Json).map(([method, op]): [string, string, Json] => [path, method, op]));

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: 'Docket', version: expect.any(String) });
  });

  it('is valid according to an independent OpenAPI 3.1 validator', async () => {
    // The validator dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('lists every /v1 route the server registers, with its method', () => {
    const routes = apiRoutes();
    // The tree was read (a parse that found nothing would pass everything below).
    expect(routes).toContainEqual({ method: 'POST', path: '/v1/jobs' });
    expect(routes).toContainEqual({ method: 'POST', path: '/v1/queues/:queue/claim' });
    const missing = routes.filter((r) => doc.paths[openapiPath(r.path)]?.[r.method.toLowerCase()] === undefined);
    expect(missing).toEqual([]);
  });

  it('leaves out what is not API: the docs page and the document itself', () => {
    const paths = Object.keys(doc.paths);
    expect(paths.filter((p) => p.startsWith('/docs') || p === '/openapi.json')).toEqual([]);
    expect(paths).toContain('/healthz');
  });

  it('leaves the schemas the routes validate with as they were', () => {
    expect(JSON.stringify([SubmitBody, ProblemSchema])).toBe(schemasBefore);
  });

  it('describes the job fields of POST /v1/jobs with their constraints', () => {
    const body = doc.paths['/v1/jobs'].post.requestBody;
    expect(body.required).toBe(true);
    const schema = body.content['application/json'].schema;
    // Generated from the schema the route validates with: every field it accepts is there.
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(SubmitBody.properties).sort());
    // `type` is required unless `templateId` is given (a template supplies it): the service checks that.
    expect(schema.required).toBeUndefined();
    expect(schema.properties.type.description).toContain('required unless templateId');
    expect(schema.properties.templateVersion).toMatchObject({ type: 'integer', minimum: 1 });
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.type).toMatchObject({ type: 'string', pattern: NAME_PATTERN });
    expect(schema.properties.priority).toMatchObject({ type: 'integer', minimum: 1, maximum: 10 });
    expect(schema.properties.timeoutMs).toMatchObject({ type: 'integer', minimum: 1 });
    expect(schema.properties.runAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(schema.properties.payload).toBeDefined();
    // Label keys must be names: the rule survives into the document (patternProperties).
    expect(schema.properties.labels).toMatchObject({
      type: 'object',
      maxProperties: 32,
      additionalProperties: false,
      patternProperties: { [NAME_PATTERN]: { type: 'string', maxLength: 256 } },
    });
    expect(schema.properties.backoff.anyOf.map((b: Json) => b.properties.type.enum ?? [b.properties.type.const])).toEqual([['exponential'], ['fixed'], ['custom']]);

    const bulk = doc.paths['/v1/jobs/bulk'].post.requestBody.content['application/json'].schema;
    expect(bulk.properties.jobs).toMatchObject({ type: 'array', minItems: 1, maxItems: 1000, items: { properties: { templateId: { pattern: NAME_PATTERN } } } });
  });

  it('documents path and query parameters', () => {
    const list = doc.paths['/v1/jobs'].get.parameters as Json[];
    expect(list.find((p) => p.name === 'limit')).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500 } });
    expect(doc.paths['/v1/jobs/{id}'].get.parameters).toContainEqual(expect.objectContaining({ in: 'path', name: 'id', required: true }));
  });

  it('documents the errors of every API route as application/problem+json', () => {
    const api = operations().filter(([path]) => path.startsWith('/v1/'));
    expect(api.length).toBeGreaterThan(0);
    for (const [path, method, op] of api) {
      for (const status of ['4XX', '5XX']) {
        const content = op.responses[status]?.content;
        expect(Object.keys(content ?? {}), `${method} ${path} ${status}`).toEqual(['application/problem+json']);
        expect(content['application/problem+json'].schema.required).toEqual(['type', 'title', 'status', 'detail', 'instance']);
      }
    }
    expect(doc.paths['/v1/jobs'].post.responses['201'].content['application/json'].schema.required).toContain('state');
  });

  it('asks for a bearer JWT everywhere but the health probes', () => {
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    // The API inherits the global requirement; the probes (all that lives outside /v1) need none.
    for (const [path, method, op] of operations()) {
      expect(op.security, `${method} ${path}`).toEqual(path.startsWith('/v1/') ? undefined : []);
    }
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('matches what the server enforces: without a token, secured reads answer 401, public ones do not', async () => {
    const reads = operations().filter(([, method]) => method === 'get');
    expect(reads.length).toBeGreaterThan(0);
    for (const [path, , op] of reads) {
      const res = await fetch(`${base}${path.replace(/\{\w+\}/g, 'x')}`);
      await res.arrayBuffer();
      expect(res.status === 401, `GET ${path} answered ${res.status}`).toBe(op.security === undefined);
    }
    for (const path of ['/openapi.json', '/docs']) {
      const res = await fetch(`${base}${path}`);
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
    }
  });

  it('tags operations by area', () => {
    expect(doc.tags.map((t: Json) => t.name)).toEqual(['jobs', 'queues', 'workers', 'claims', 'dead-letters', 'conditions', 'schedules', 'templates', 'events', 'webhooks', 'alerts', 'health']);
    for (const [path, method, op] of operations()) {
      const area = path.startsWith('/v1/') ? path.split('/')[2] : 'health';
      expect(op.tags, `${method} ${path}`).toEqual([area]);
    }
    expect(doc.paths['/v1/queues/{queue}/claim'].post.tags).toEqual(['queues']);
  });
});

describe('docs page', () => {
  it('serves an HTML page whose assets load from this server', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, `${base}/docs`));
    expect(assets.map((u) => u.pathname)).toContain('/docs/static/swagger-ui-bundle.js');
    for (const url of assets) {
      expect(url.origin, 'no CDN').toBe(new URL(base).origin);
      const asset = await fetch(url);
      expect(asset.status, url.pathname).toBe(200);
      await asset.arrayBuffer();
    }
  });

  it('shows the same document as /openapi.json', async () => {
    // The page loads its spec from ./json (a @fastify/swagger-ui route), not from /openapi.json.
    const res = await fetch(`${base}/docs/json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);
  });
});
