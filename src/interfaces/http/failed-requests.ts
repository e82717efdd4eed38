import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The header that carries a request's id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';
/** An id a proxy in front may have given the request: kept when it looks like one. */
const GIVEN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Each request's id (Fastify's `genReqId`): the one a proxy in front sent in `x-request-id`, else a
 * new UUID. It is the `reqId` of the request's log lines and goes back in the reply's
 * `x-request-id`, so a client that got a 5xx can hand the operator the line that explains it.
 */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && GIVEN_ID.test(given) ? given : randomUUID();
}

/** Why a request failed, noted by whoever answered 5xx, for the one log line of failed-requests. */
const causes = new WeakMap<FastifyRequest, Record<string, unknown>>();

/**
 * Notes the cause of a 5xx this request is about to get (`{ err }`, fields such as `{ checks }`);
 * `sendProblem` notes every 5xx problem's `detail`.
 */
export function noteFailure(request: FastifyRequest, cause: Record<string, unknown>): void {
  causes.set(request, { ...causes.get(request), ...cause });
}

/**
 * Every 5xx answer is logged here, once, at error level, whoever sent it (the error handler, an
 * outage's 503, /readyz, the 501 of an unconfigured route): with the request id (`reqId`, bound by
 * Fastify's request logger, and sent back in `x-request-id` on every reply), method, route pattern,
 * URL path, status and the cause noted, if any.
 * 4xx answers are the client's business and are not logged.
 */
export function installFailedRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode >= 500) {
      request.log.error(
        {
          ...causes.get(request),
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          url: request.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'request failed',
      );
    }
    done();
  });
}
