import type { Static } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import { workerTenant } from '../access.js';
import type { Job, Json } from '../../../domain/job.js';
import type { PriorityRange } from '../../../ports/dispatch.js';
import { applied } from '../problem.js';
import {
  ClaimBody,
  ClaimParams,
  ClaimReply,
  ClaimsBody,
  CompleteBody,
  FailBody,
  HeartbeatBody,
  HeartbeatReply,
  IdParams,
  JobViewSchema,
  NoContent,
  PROBLEMS,
  ProgressBody,
  RegisterBody,
  RegisterReply,
  ReleaseBody,
  WorkersQuery,
  WorkersReply,
} from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { claimedJobView, jobView, workerView } from '../views.js';

const WORK = { action: 'workers:work' } as const;

/** The remote worker protocol: register, heartbeat, claim (long-poll), report outcomes. */
export function workerRoutes(app: Api, { jobs, workers, closing }: RouteDeps): void {
  app.post('/v1/workers', { config: WORK, schema: { body: RegisterBody, response: { 201: RegisterReply, ...PROBLEMS } } }, async (request, reply) => {
    const b = request.body;
    const id = await workers.register({
      queues: b.queues,
      tenant: workerTenant(request),
      ...(b.capacity !== undefined ? { capacity: b.capacity } : {}),
      ...(b.name !== undefined ? { name: b.name } : {}),
      ...(b.labels !== undefined ? { labels: b.labels } : {}),
    });
    // Timing a worker must keep, so no client has to guess it: heartbeat well within both.
    const { leaseMs } = jobs;
    const { heartbeatTimeoutMs } = workers;
    return reply.code(201).send({ id, leaseMs, heartbeatTimeoutMs, heartbeatIntervalMs: Math.max(50, Math.floor(Math.min(leaseMs, heartbeatTimeoutMs) / 3)) });
  });

  app.get('/v1/workers', { config: { action: 'workers:read' }, schema: { querystring: WorkersQuery, response: { 200: WorkersReply, ...PROBLEMS } } }, async (request) => {
    const q = request.query;
    // A tenant's caller sees its tenant's workers only, whatever it asks for.
    const tenant = workerTenant(request) ?? q.tenant;
    const page = await workers.page({
      limit: q.limit ?? 100,
      ...(q.cursor !== undefined ? { after: q.cursor } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.queue !== undefined ? { queue: q.queue } : {}),
    });
    return { workers: page.workers.map(workerView), nextCursor: page.next };
  });

  app.delete('/v1/workers/:id', { config: WORK, schema: { params: IdParams, response: { 204: NoContent, ...PROBLEMS } } }, async (request, reply) => {
    await ownWorker(request, request.params.id);
    if (!(await workers.unregister(request.params.id))) throw new NotFoundError('worker', request.params.id);
    return reply.code(204).send(null);
  });

  app.post(
    '/v1/workers/:id/heartbeat',
    { config: WORK, schema: { params: IdParams, body: HeartbeatBody, response: { 200: HeartbeatReply, ...PROBLEMS } } },
    async (request) => {
      await ownWorker(request, request.params.id);
      if (!(await workers.touch(request.params.id))) throw new NotFoundError('worker', request.params.id);
      const tenant = workerTenant(request);
      if (tenant === null) return jobs.outcomes.heartbeat(request.body.jobs);
      // Another tenant's job is not extended: the worker hears it lost, as it would a missing one.
      const leases = request.body.jobs;
      const owned = await Promise.all(leases.map(async (j) => (await jobs.queries.get(j.id))?.tenant === tenant));
      const { lost, cancelled } = await jobs.outcomes.heartbeat(leases.filter((_, i) => owned[i]));
      return { lost: [...lost, ...leases.filter((_, i) => !owned[i]).map((j) => j.id)], cancelled };
    },
  );

  app.post(
    '/v1/queues/:queue/claim',
    { config: WORK, schema: { params: ClaimParams, body: ClaimBody, response: { 200: ClaimReply, ...PROBLEMS } } },
    (request, reply) => claim(request, reply, request.body, request.params.queue.split(',')),
  );

  app.post('/v1/claims', { config: WORK, schema: { body: ClaimsBody, response: { 200: ClaimReply, ...PROBLEMS } } }, (request, reply) =>
    claim(request, reply, request.body, request.body.queues),
  );

  /** A claim, long-polling up to `waitMs`: the jobs taken, under fresh leases. */
  async function claim(request: FastifyRequest, reply: FastifyReply, b: Static<typeof ClaimBody>, queues: readonly string[]): Promise<Static<typeof ClaimReply>> {
    const range = rangeOf(b.priorityMin, b.priorityMax);
    const tenant = workerTenant(request);
    // Claiming without registering is allowed (ids are opaque), but not under another tenant's worker.
    if (tenant !== null) await ownWorker(request, b.workerId, true);
    // A claim is a sign of life too.
    await workers.touch(b.workerId);
    const filter = { ...(b.types ? { types: b.types } : {}), ...(b.labels ? { labels: b.labels } : {}), ...(tenant !== null ? { tenant } : {}) };
    // The long-poll ends early when the client goes away or the server closes. The reply's
    // 'close' is the signal: the request's own 'close' fires as soon as its body was read.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableEnded) gone.abort();
    };
    reply.raw.on('close', onClose);
    let claimed: Job[];
    try {
      claimed = await jobs.claims.claim({
        workerId: b.workerId,
        queues: [...new Set(queues)],
        max: b.max,
        waitMs: b.waitMs ?? 0,
        signal: AbortSignal.any([gone.signal, closing]),
        ...(range ? { range } : {}),
        ...(Object.keys(filter).length > 0 ? { filter } : {}),
      });
    } finally {
      reply.raw.off('close', onClose);
      // A long-poll that just ended is a sign of life as recent as its start. Failing to record
      // it must not lose the jobs just claimed: they are handed out all the same.
      await workers.touch(b.workerId).catch((err: unknown) => request.log.warn({ err }, 'worker heartbeat not recorded'));
    }
    if (gone.signal.aborted && claimed.length > 0) {
      // Nobody will receive these: give them back now rather than after the lease runs out.
      await Promise.all(claimed.map((j) => jobs.outcomes.release(j.id, j.leaseToken!)));
      claimed = [];
    }
    return { jobs: claimed.map(claimedJobView) };
  }

  app.post('/v1/jobs/:id/complete', { config: WORK, schema: { params: IdParams, body: CompleteBody, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    await ownJob(request, id);
    applied(id, await jobs.outcomes.complete(id, request.body.leaseToken, request.body.result as Json | undefined));
    const job = await jobs.queries.get(id);
    if (!job) throw new NotFoundError('job', id);
    return jobView(job);
  });

  app.post('/v1/jobs/:id/fail', { config: WORK, schema: { params: IdParams, body: FailBody, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    await ownJob(request, id);
    const { leaseToken, error, retryable, condition } = request.body;
    const report = {
      message: error.message,
      ...(error.code !== undefined ? { code: error.code } : {}),
      ...(error.name !== undefined ? { name: error.name } : {}),
      ...(retryable !== undefined ? { retryable } : {}),
      ...(condition !== undefined ? { condition } : {}),
    };
    return jobView(applied(id, await jobs.outcomes.fail(id, leaseToken, report)).job);
  });

  app.post('/v1/jobs/:id/progress', { config: WORK, schema: { params: IdParams, body: ProgressBody, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    await ownJob(request, id);
    const { leaseToken, percent, message, outputs } = request.body;
    return jobView(applied(id, await jobs.outcomes.progress(id, leaseToken, percent, message, outputs as Json[] | undefined)).job);
  });

  app.post('/v1/jobs/:id/release', { config: WORK, schema: { params: IdParams, body: ReleaseBody, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    await ownJob(request, id);
    return jobView(applied(id, await jobs.outcomes.release(id, request.body.leaseToken)).job);
  });

  /**
   * 404 unless the worker is the caller's tenant's (cluster-wide callers: any worker). `mayBeUnknown`:
   * an unregistered id passes (claims need no registration).
   */
  async function ownWorker(request: FastifyRequest, id: string, mayBeUnknown = false): Promise<void> {
    const tenant = workerTenant(request);
    if (tenant === null) return;
    const worker = await workers.get(id);
    if (worker ? worker.tenant !== tenant : !mayBeUnknown) throw new NotFoundError('worker', id);
  }

  /**
   * 404 unless the job is the caller's tenant's, before its lease is used: a lease token that
   * leaked does not let another tenant's worker finish the job. Costs one read for tenant-bound
   * workers; cluster-wide callers act on any job their lease token holds.
   */
  async function ownJob(request: FastifyRequest, id: string): Promise<void> {
    const tenant = workerTenant(request);
    if (tenant === null) return;
    if ((await jobs.queries.get(id))?.tenant !== tenant) throw new NotFoundError('job', id);
  }
}

/** Either bound alone means "from there on": priorityMin 4 takes 4..10. */
function rangeOf(min: number | undefined, max: number | undefined): PriorityRange | undefined {
  if (min === undefined && max === undefined) return undefined;
  const range = { min: min ?? 1, max: max ?? 10 };
  if (range.min > range.max) throw new ValidationError([{ path: '/priorityMin', message: `must not be above priorityMax (${range.max})` }]);
  return range;
}
