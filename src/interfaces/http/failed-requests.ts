import type { FastifyInstance, FastifyRequest } from 'fastify';

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
 * Fastify's request logger), method, route pattern, URL path, status and the cause noted, if any.
 * 4xx answers are the client's business and are not logged.
 */
export function installFailedRequestLog(app: FastifyInstance): void {
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
