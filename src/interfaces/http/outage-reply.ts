import type { FastifyReply, FastifyRequest } from 'fastify';
import { outageOf, RETRY_AFTER_SECONDS } from '../../adapters/engine-outage.js';
import { noteFailure } from './failed-requests.js';
import { problemOf, sendProblem } from './problem.js';

/**
 * A request that failed because an engine it needs is unreachable (docs/reliability.md): 503 with
 * Retry-After, naming the engine, logged at error level with its cause (failed-requests.ts). Null for any other error.
 * Nothing was half-written: a submit either committed (and the client may retry it with its
 * Idempotency-Key) or did not.
 */
export function sendIfOutage(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply | null {
  const engine = outageOf(error);
  if (!engine) return null;
  noteFailure(request, { err: error, engine });
  reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  const detail = `${engine} is unavailable; retry in ${RETRY_AFTER_SECONDS} s`;
  return sendProblem(reply, problemOf(request, 503, 'engine-unavailable', 'Service Unavailable', detail));
}
