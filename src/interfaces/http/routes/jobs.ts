import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError } from '../../../domain/errors.js';
import type { Job } from '../../../domain/job.js';
import { carrierOfHeaders } from '../../../domain/trace-context.js';
import type { JobFilter } from '../../../ports/store.js';
import type { Jobs } from '../../../services/jobs/index.js';
import { canSee, listedTenant, owningTenant } from '../access.js';
import { refuseInternalCallbacks } from '../callback-targets.js';
import { applied, TransitionRejected } from '../problem.js';
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
  SubmitHeaders,
  type ListQueryType,
} from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';
import { jobViewWithDependencies } from './dependencies.js';

/** Client routes: submit, read, list, cancel, resubmit. Every read is limited to the caller's tenant. */
export function jobRoutes(app: Api, { jobs, webhooks }: RouteDeps): void {
  app.post(
    '/v1/jobs',
    { config: { action: 'jobs:submit' }, schema: { headers: SubmitHeaders, body: SubmitBody, response: { 200: JobViewSchema, 201: JobViewSchema, ...PROBLEMS } } },
    async (request, reply) => {
      const ctx = { tenant: owningTenant(request), trace: carrierOfHeaders(request.headers) };
      await refuseInternalCallbacks(webhooks, [{ path: '', job: request.body }]);
      const key = request.headers['idempotency-key'];
      if (key === undefined) {
        const [s] = await jobs.submitter.submitJobs([request.body], ctx);
        return reply.code(s!.deduplicated ? 200 : 201).send(submittedView(s!.job, s!.deduplicated));
      }
      const render = ([job]: Job[], [dup]: readonly boolean[]) => ({ status: dup ? 200 : 201, body: submittedView(job!, dup ?? false) });
      const once = await jobs.submitter.submitOnce([request.body], ctx, { key, requestHash: hashOf(request), render });
      return sendStored(reply, once);
    },
  );

  app.post(
    '/v1/jobs/bulk',
    { config: { action: 'jobs:submit' }, schema: { headers: SubmitHeaders, body: BulkSubmitBody, response: { 200: JobsReply, 201: JobsReply, ...PROBLEMS } } },
    async (request, reply) => {
      const { jobs: inputs } = request.body;
      const ctx = { tenant: owningTenant(request), trace: carrierOfHeaders(request.headers) };
      await refuseInternalCallbacks(webhooks, inputs.map((job, i) => ({ path: `/jobs/${i}`, job })));
      const key = request.headers['idempotency-key'];
      try {
        if (key === undefined) {
          const submitted = await jobs.submitter.submitJobs(inputs, ctx);
          return reply.code(bulkStatus(submitted.map((s) => s.deduplicated))).send({ jobs: submitted.map((s) => submittedView(s.job, s.deduplicated)) });
        }
        const render = (jobs: Job[], dups: readonly boolean[]) => ({ status: bulkStatus(dups), body: { jobs: jobs.map((j, i) => submittedView(j, dups[i] ?? false)) } });
        const once = await jobs.submitter.submitOnce(inputs, ctx, { key, requestHash: hashOf(request), render });
        return sendStored(reply, once);
      } catch (err) {
        throw underJobs(err, inputs.length);
      }
    },
  );

  app.get('/v1/jobs/:id', { config: { action: 'jobs:read' }, schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) =>
    jobViewWithDependencies(jobs, await visibleJob(jobs, request, request.params.id)),
  );

  app.get('/v1/jobs', { config: { action: 'jobs:read' }, schema: { querystring: ListQuery, response: { 200: ListReply, ...PROBLEMS } } }, async (request) => {
    const q = request.query;
    const page = await jobs.queries.list(toFilter(q, request), q.limit ?? 50, q.cursor);
    return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
  });

  app.post('/v1/jobs/:id/cancel', { config: { action: 'jobs:cancel' }, schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } }, async (request) => {
    const { id } = request.params;
    await visibleJob(jobs, request, id);
    return jobView(applied(id, await jobs.cancels.cancel(id)).job);
  });

  app.post(
    '/v1/jobs/:id/resubmit',
    { config: { action: 'jobs:submit' }, schema: { params: IdParams, response: { 201: JobViewSchema, ...PROBLEMS } } },
    async (request, reply) => {
      const { id } = request.params;
      await visibleJob(jobs, request, id);
      const result = await jobs.submitter.resubmit(id, carrierOfHeaders(request.headers));
      if ('ok' in result) throw new TransitionRejected(id, result);
      return reply.code(201).send(jobView(result));
    },
  );

  app.get('/v1/jobs/:id/progress', { config: { action: 'jobs:read' }, schema: { params: IdParams, response: { 200: ProgressReply, ...PROBLEMS } } }, async (request) => {
    const job = await visibleJob(jobs, request, request.params.id);
    return { state: job.state, progress: job.progress };
  });
}

/** The job, if the caller may see it. Another tenant's job answers exactly like a missing one. */
export async function visibleJob(jobs: Jobs, request: FastifyRequest, id: string): Promise<Job> {
  const job = await jobs.queries.get(id);
  if (!job || !canSee(request, job.tenant)) throw new NotFoundError('job', id);
  return job;
}

export function toFilter(q: Omit<ListQueryType, 'limit' | 'cursor'>, request: FastifyRequest): JobFilter {
  const filter: JobFilter = {};
  const tenant = listedTenant(request, q.tenant, 'jobs');
  if (tenant !== undefined) filter.tenant = tenant;
  if (q.queue !== undefined) filter.queue = q.queue;
  if (q.state !== undefined) filter.state = q.state;
  if (q.type !== undefined) filter.type = q.type;
  if (q.linkId !== undefined) filter.linkId = q.linkId;
  if (q.templateId !== undefined) filter.templateId = q.templateId;
  if (q.label !== undefined) filter.labels = labelsOf(q.label);
  if (q.payload !== undefined) filter.payload = payloadOf(q.payload);
  if (q.createdAfter !== undefined) filter.createdAfter = Date.parse(q.createdAfter);
  if (q.createdBefore !== undefined) filter.createdBefore = Date.parse(q.createdBefore);
  return filter;
}

/**
 * `label=region=eu` (repeatable): jobs carrying every one of these labels. Label names cannot
 * hold "=", so the first one separates name and value; the value may hold anything.
 */
function labelsOf(raw: string | string[]): Record<string, string> {
  const list = Array.isArray(raw) ? raw : [raw];
  const labels: Record<string, string> = {};
  for (const [i, pair] of list.entries()) {
    const path = `/label${Array.isArray(raw) ? `/${i}` : ''}`;
    const at = pair.indexOf('=');
    if (at <= 0) throw new ValidationError([{ path, message: `"${pair}" is not name=value (e.g. region=eu)` }]);
    const name = pair.slice(0, at);
    if (name in labels) throw new ValidationError([{ path, message: `label "${name}" is given twice; a job has one value per label` }]);
    labels[name] = pair.slice(at + 1);
  }
  return labels;
}

/** `payload=customer.id=42`: a dotted path of object keys (up to 8), then `=`, then the value as text. */
function payloadOf(raw: string): { path: string[]; value: string } {
  const at = raw.indexOf('=');
  const path = at > 0 ? raw.slice(0, at).split('.') : [];
  if (at <= 0 || path.length > 8 || path.some((k) => k === '' || k.includes('"'))) {
    throw new ValidationError([{ path: '/payload', message: `"${raw}" is not path=value with a dotted path of up to 8 keys (e.g. customer.id=42)` }]);
  }
  return { path, value: raw.slice(at + 1) };
}

/**
 * A job in a submit reply; `deduplicated: true` when it is the existing job holding the submitted
 * one's dedup key. A created job has no such field, so its reply equals what a read returns.
 */
function submittedView(job: Job, deduplicated: boolean) {
  return deduplicated ? { ...jobView(job), deduplicated } : jobView(job);
}

/** A bulk submit is 201 when it created at least one job, 200 when every job was a duplicate (as POST /v1/events). */
function bulkStatus(deduplicated: readonly boolean[]): number {
  return deduplicated.every(Boolean) ? 200 : 201;
}

/** The request body's fingerprint for Idempotency-Key checks (the parsed body, re-serialized). */
function hashOf(request: FastifyRequest): string {
  return createHash('sha256').update(JSON.stringify(request.body ?? null)).digest('hex');
}

function sendStored(reply: FastifyReply, once: { status: number; response: string; replayed: boolean }) {
  if (once.replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(once.status).type('application/json; charset=utf-8').serializer((x: unknown) => x as string).send(once.response);
}

/**
 * The jobs names bulk items `/3/priority` (or `/priority` for a single item); in the request
 * body they live under `/jobs/3`, and that is the path the client must see.
 */
function underJobs(err: unknown, count: number): unknown {
  const fix = (path: string) => (count > 1 ? `/jobs${path}` : `/jobs/0${path}`);
  if (err instanceof ValidationError) return new ValidationError(err.issues.map((i) => ({ ...i, path: fix(i.path) })));
  if (err instanceof PayloadTooLargeError) return new PayloadTooLargeError(fix(err.path), err.size, err.limit);
  if (err instanceof ConflictError && err.issues.length > 0) {
    // A retired template: its issues name the items, as validation's do.
    const issues = err.issues.map((i) => ({ ...i, path: fix(i.path) }));
    return new ConflictError(err.code, issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
  }
  return err;
}
