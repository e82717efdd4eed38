import { noteFailure } from '../failed-requests.js';
import { problemOf, sendProblem } from '../problem.js';
import { HealthReply, NotReadyReply, ReadyReply } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

const CHECK_TIMEOUT_MS = 2000;

/** Liveness and readiness, outside /v1 (load balancers need no API version) and without a token. */
export function healthRoutes(app: Api, { readiness, isLeader }: RouteDeps): void {
  app.get('/healthz', { config: { public: true }, schema: { response: { 200: HealthReply } } }, async () => ({ status: 'ok' as const }));

  // Ready only when every engine this process depends on answers (store; Redis and Kafka in
  // production mode): a load balancer sends no traffic to a node that cannot serve it.
  app.get('/readyz', { config: { public: true }, schema: { response: { 200: ReadyReply, 503: NotReadyReply } } }, async (request, reply) => {
    const checks = await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, `unavailable: ${(err as Error).message}`] as const;
        }
      }),
    );
    const failing = checks.filter(([, status]) => status !== 'ok');
    const body = { status: failing.length === 0 ? ('ready' as const) : ('unavailable' as const), checks: Object.fromEntries(checks), leader: isLeader() };
    if (failing.length === 0) return body;
    const detail = `not ready: ${failing.map(([name, status]) => `${name} ${status}`).join('; ')}`;
    // Every 5xx is logged with its cause, this one too (a load balancer probing every few seconds
    // makes a line each time: the outage log says once when it began and when it ended).
    noteFailure(request, { err: new Error(detail), checks: body.checks });
    // The problem's own members last: its `status` must stay the HTTP status (503), not the word
    // `unavailable`, or Fastify refuses the status code and answers 500.
    return sendProblem(reply, { checks: body.checks, leader: body.leader, ...problemOf(request, 503, 'not-ready', 'Service Unavailable', detail) } as never);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
