import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemOf, sendProblem, type Problem } from './problem.js';

/**
 * The errors answered before a route runs, as problem+json like every other error: the router's
 * (bad percent-encoding, an over-long path parameter), a known path asked with another method
 * (405), and what Node's HTTP parser refuses before Fastify sees a request (oversized headers,
 * bytes that are not HTTP). Fastify's and Node's defaults answer these as plain JSON or text.
 */

/** Fastify's `frameworkErrors` option: the router's refusals. */
export function frameworkErrors(maxParamLength: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const problem =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? problemOf(request, 414, 'uri-too-long', 'URI Too Long', `a path parameter is longer than ${maxParamLength} characters`)
        : error.code === 'FST_ERR_BAD_URL'
          ? problemOf(request, 400, 'bad-url', 'Bad Request', 'the path has a malformed percent-encoding (each % must start a valid UTF-8 %XX sequence)')
          : problemOf(request, 400, 'bad-request', 'Bad Request', error.message);
    void sendProblem(reply, problem);
  };
}

/** Fastify's `clientErrorHandler`: what Node's parser refused, written on the socket itself. */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, slug, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request headers are larger than the server accepts (16 KiB in all by default); send a shorter header']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'the request did not arrive in time']
        : [400, 'bad-request', 'the request is not valid HTTP/1.1'];
  const problem: Problem = { type: `urn:docket:problem:${slug}`, title: STATUS_CODES[status]!, status, detail, instance: pathOf(err.rawPacket) };
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** The path of the refused request line, when the parser kept it (no query: it may hold secrets). */
function pathOf(packet: unknown): string {
  const line = (Buffer.isBuffer(packet) ? packet : Buffer.alloc(0)).subarray(0, 2048).toString('latin1').split('\r\n', 1)[0] ?? '';
  const target = line.split(' ')[1] ?? '/';
  return target.startsWith('/') ? target.split('?')[0]!.slice(0, 200) : '/';
}

/**
 * A path that a route serves with other methods answers 405 with `Allow` (RFC 9110 §15.5.6)
 * instead of 404. Installed before the routes: it learns their paths as they register.
 */
export function installMethodNotAllowed(app: FastifyInstance): void {
  const routes: { pattern: RegExp; methods: string[] }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    routes.push({ pattern: patternOf(route.url), methods });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods));
    if (allowed.size === 0) return sendProblem(reply, problemOf(request, 404, 'not-found', 'Not Found', `no route ${request.method} ${path}`));
    const allow = [...allowed].sort().join(', ');
    reply.header('allow', allow);
    return sendProblem(reply, problemOf(request, 405, 'method-not-allowed', 'Method Not Allowed', `${request.method} is not allowed on ${path}; allowed: ${allow}`));
  });
}

/**
 * A NUL character (`%00`) in the path or query is 400 before any route runs: no id or name holds
 * one, and PostgreSQL refuses it in text (a lookup by such an id failed with 500 there).
 */
export function refuseNulInUrl(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (/%00/i.test(request.url)) {
      return sendProblem(reply, problemOf(request, 400, 'nul-character', 'Bad Request', 'the URL holds a NUL character (%00), which no id or name may contain'));
    }
  });
}

/** `/v1/jobs/:id` -> /^\/v1\/jobs\/[^/]+$/; `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
