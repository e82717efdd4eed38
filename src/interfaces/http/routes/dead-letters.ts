import type { FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import type { Job } from '../../../domain/job.js';
import type { JobFilter } from '../../../ports/store.js';
import { canSee, listedTenant } from '../access.js';
import {
  DeadLetterQuery,
  DeadLetterSelection,
  IdParams,
  JobViewSchema,
  ListReply,
  PROBLEMS,
  PurgeReply,
  RequeueReply,
  type DeadLetterSelectionType,
} from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';

/** The dead-letter set: every job that ended `failed`, with its whole error history. */
export function deadLetterRoutes(app: Api, { jobs }: RouteDeps): void {
  app.get('/v1/dead-letters', { config: { action: 'jobs:read' }, schema: { querystring: DeadLetterQuery, response: { 200: ListReply, ...PROBLEMS } } }, async (request) => {
    const q = request.query;
    const page = await jobs.queries.list(filterOf(q, request), q.limit ?? 50, q.cursor);
    return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
  });

  app.get('/v1/dead-letters/:id', { config: { action: 'jobs:read' }, schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const job = await jobs.queries.get(request.params.id);
    if (!job || job.state !== 'failed' || !canSee(request, job.tenant)) throw new NotFoundError('dead letter', request.params.id);
    return jobView(job);
  });

  app.post(
    '/v1/dead-letters/requeue',
    { config: { action: 'deadletters:manage' }, schema: { body: DeadLetterSelection, response: { 200: RequeueReply, ...PROBLEMS } } },
    async (request) => {
      const requeued = await jobs.deadLetters.requeue(await select(request, request.body));
      return { requeued: requeued.length, ids: requeued.map((j) => j.id) };
    },
  );

  app.post(
    '/v1/dead-letters/purge',
    { config: { action: 'deadletters:manage' }, schema: { body: DeadLetterSelection, response: { 200: PurgeReply, ...PROBLEMS } } },
    async (request) => ({ purged: await jobs.deadLetters.purge((await select(request, request.body)).map((j) => j.id)) }),
  );

  /** The dead letters a requeue or purge acts on: by id (others' and unknown ids are skipped), or by filter. */
  async function select(request: FastifyRequest, body: DeadLetterSelectionType): Promise<Job[]> {
    if (body.ids && body.filter) throw new ValidationError([{ path: '/filter', message: 'give ids or a filter, not both' }]);
    if (body.ids) {
      const found = await Promise.all([...new Set(body.ids)].map((id) => jobs.queries.get(id)));
      return found.filter((j): j is Job => j !== undefined && j.state === 'failed' && canSee(request, j.tenant));
    }
    if (!body.filter) throw new ValidationError([{ path: '/ids', message: 'give ids or a filter ({} for every dead letter you may see)' }]);
    return jobs.queries.upTo(filterOf(body.filter, request), body.max ?? 10_000);
  }
}

type FilterInput = { queue?: string; type?: string; tenant?: string; error?: string; failedAfter?: string; failedBefore?: string };

function filterOf(q: FilterInput, request: FastifyRequest): JobFilter {
  const filter: JobFilter = { state: 'failed' };
  const tenant = listedTenant(request, q.tenant, 'dead letters');
  if (tenant !== undefined) filter.tenant = tenant;
  if (q.queue !== undefined) filter.queue = q.queue;
  if (q.type !== undefined) filter.type = q.type;
  if (q.error !== undefined) filter.errorText = q.error;
  if (q.failedAfter !== undefined) filter.finishedAfter = Date.parse(q.failedAfter);
  if (q.failedBefore !== undefined) filter.finishedBefore = Date.parse(q.failedBefore);
  return filter;
}
