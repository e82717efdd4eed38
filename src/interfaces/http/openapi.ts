import { readFileSync } from 'node:fs';
import fastifySwagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { OPERATIONS, TAGS } from './operations.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { ProblemSchema } from './schemas.js';

/**
 * The OpenAPI 3.1 document (GET /openapi.json) and a docs page (GET /docs), generated from the
 * TypeBox schemas the routes validate with: @fastify/swagger collects every route through an
 * onRoute hook, so this must be registered before the routes are.
 */

// src/interfaces/http and dist/interfaces/http are equally deep, so this finds the package's own file.
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Docket',
        version,
        description: 'A distributed job scheduler: submit jobs, follow them, and run them from remote workers. Errors are RFC 9457 application/problem+json.',
      },
      // Relative: the server that serves the document (OpenAPI 3.1 resolves it against the
      // document's URL), whatever address or proxy it is reached through.
      servers: [{ url: '/', description: 'this Docket server' }],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearerAuth: [] }],
      tags: TAGS,
    },
    transform: documented,
    transformObject: (doc) => restorePatterns('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject) as ReturnType<SwaggerTransformObject>,
  });
  // Swagger UI's own assets ship in the package and are served from /docs/static: no CDN.
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Public like the probes: a client needs the document before it has a token.
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}

/**
 * How a route appears in the document. Only the document's copy of the schema changes: what the
 * route validates and replies stays as declared.
 */
const documented: SwaggerTransform = ({ schema, url, route }) => {
  if (!schema || schema.hide) return { schema, url };
  // The same flag the access check reads (access.ts): the document cannot claim otherwise.
  const isPublic = (route.config as { public?: boolean } | undefined)?.public === true;
  const [operationId, summary] = OPERATIONS[`${String(route.method)} ${url.replace(/:(\w+)/g, '{$1}')}`] ?? [];
  const extra: FastifySchema = {
    ...(schema.tags ? {} : { tags: [tagOf(url)] }),
    ...(operationId && !schema.operationId ? { operationId } : {}),
    ...(summary && !schema.summary ? { summary } : {}),
    // An empty requirement list overrides the global bearerAuth: no token needed.
    ...(isPublic ? { security: [] } : {}),
  };
  const shown = { ...schema, ...extra, ...(schema.response ? { response: withProblemMediaType(schema.response) } : {}) };
  return { schema: hidePatterns(shown) as FastifySchema, url };
};

/** The tag is the first path segment after /v1 (jobs, workers, queues); outside /v1 live only the probes. */
function tagOf(url: string): string {
  return /^\/v1\/([^/]+)/.exec(url)?.[1] ?? 'health';
}

/**
 * Problem replies go out as application/problem+json (sendProblem sets it), but a bare response
 * schema is documented as application/json. Say the real media type for every ProblemSchema reply.
 */
function withProblemMediaType(response: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, reply] of Object.entries(response as Record<string, unknown>)) {
    out[status] = reply === ProblemSchema ? { description: ProblemSchema.description, content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } } } : reply;
  }
  return out;
}

/*
 * @fastify/swagger rewrites every patternProperties as additionalProperties (an OpenAPI 3.0 habit),
 * which would drop the key rule of a Record (label keys must be names) and its
 * additionalProperties: false. OpenAPI 3.1 schemas are JSON Schema 2020-12 and keep
 * patternProperties as they are: so they pass the converter under another name and get theirs back.
 * Both walks copy: the route schemas themselves are never touched.
 */
const PATTERNS_IN_TRANSIT = 'x-docket-patternProperties';
const hidePatterns = (value: unknown) => renameKey(value, 'patternProperties', PATTERNS_IN_TRANSIT);
const restorePatterns = (value: unknown) => renameKey(value, PATTERNS_IN_TRANSIT, 'patternProperties');

function renameKey(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKey(v, from, to));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === from ? to : k, renameKey(v, from, to)]));
}
