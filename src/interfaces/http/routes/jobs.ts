import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../../domain/errors.js';
import type { JobFilter } from '../../../ports/store.js';
import { applied } from '../problem.js';
import {
  BulkSubmitBody,
  IdParams,
  JobsReply,
  JobViewSchema,
  ListQuery,
  ListReply,
  PROBLEMS,
  ProgressReply,
  SubmitBody,
  type ListQueryType,
} from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';

/** Until JWT auth lands, every job belongs to this tenant. */
export const DEFAULT_TENANT = 'default';

/** Client routes: submit, read, list, cancel. */
export function jobRoutes(app: Api, { service }: RouteDeps): void {
  app.post('/v1/jobs', { schema: { body: SubmitBody, response: { 201: JobViewSchema, ...PROBLEMS } } }, async (request, reply) => {
    const [job] = await service.submit([request.body], { tenant: DEFAULT_TENANT });
    return reply.code(201).send(jobView(job!));
  });

  app.post('/v1/jobs/bulk', { schema: { body: BulkSubmitBody, response: { 201: JobsReply, ...PROBLEMS } } }, async (request, reply) => {
    const { jobs: inputs } = request.body;
    try {
      const jobs = await service.submit(inputs, { tenant: DEFAULT_TENANT });
      return reply.code(201).send({ jobs: jobs.map(jobView) });
    } catch (err) {
      throw underJobs(err, inputs.length);
    }
  });

  app.get('/v1/jobs/:id', { schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const job = await service.get(request.params.id);
    if (!job) throw new NotFoundError('job', request.params.id);
    return jobView(job);
  });

  app.get('/v1/jobs', { schema: { querystring: ListQuery, response: { 200: ListReply, ...PROBLEMS } } }, async (request) => {
    const q = request.query;
    const page = await service.list(toFilter(q), q.limit ?? 50, q.cursor);
    return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
  });

  app.post('/v1/jobs/:id/cancel', { schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    return jobView(applied(id, await service.cancel(id)).job);
  });

  app.get('/v1/jobs/:id/progress', { schema: { params: IdParams, response: { 200: ProgressReply, ...PROBLEMS } } }, async (request) => {
    const job = await service.get(request.params.id);
    if (!job) throw new NotFoundError('job', request.params.id);
    return { state: job.state, progress: job.progress };
  });
}

function toFilter(q: ListQueryType): JobFilter {
  const filter: JobFilter = { tenant: DEFAULT_TENANT };
  if (q.queue !== undefined) filter.queue = q.queue;
  if (q.state !== undefined) filter.state = q.state;
  if (q.type !== undefined) filter.type = q.type;
  if (q.linkId !== undefined) filter.linkId = q.linkId;
  if (q.createdAfter !== undefined) filter.createdAfter = Date.parse(q.createdAfter);
  if (q.createdBefore !== undefined) filter.createdBefore = Date.parse(q.createdBefore);
  return filter;
}

/**
 * The service names bulk items `/3/priority` (or `/priority` for a single item); in the request
 * body they live under `/jobs/3`, and that is the path the client must see.
 */
function underJobs(err: unknown, count: number): unknown {
  const fix = (path: string) => (count > 1 ? `/jobs${path}` : `/jobs/0${path}`);
  if (err instanceof ValidationError) return new ValidationError(err.issues.map((i) => ({ ...i, path: fix(i.path) })));
  if (err instanceof PayloadTooLargeError) return new PayloadTooLargeError(fix(err.path), err.size, err.limit);
  return err;
}
