import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { NotFoundError, ValidationError } from '../../../domain/errors.js';
import { workerTenant } from '../access.js';
import { LOG_LEVELS, type LogLevelName } from '../../../domain/job-log.js';
import type { Json } from '../../../domain/job.js';
import { TERMINAL_STATES } from '../../../domain/states.js';
import type { LogQuery } from '../../../ports/job-log-store.js';
import type { Jobs } from '../../../services/jobs/index.js';
import { LogBatchBody, LogBatchReply, LogPageReply, LogQuery as LogQuerySchema, LogStreamQuery, logLineView, type LogQueryType } from '../log-schemas.js';
import { TransitionRejected } from '../problem.js';
import { IdParams, PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { serveSse } from '../sse.js';
import { visibleJob } from './jobs.js';

const PAGE = 500;

/**
 * Job logs (docs/logs.md): workers send a running attempt's lines under its lease; readers page
 * through a job's lines or follow them live (SSE), filtered by attempt and level.
 */
export function jobLogRoutes(app: Api, { jobs, closing }: RouteDeps): void {
  app.post(
    '/v1/jobs/:id/logs',
    { config: { action: 'workers:work' }, schema: { params: IdParams, body: LogBatchBody, response: { 200: LogBatchReply, ...PROBLEMS } } },
    async (request) => {
      const { id } = request.params;
      const job = await jobs.store.getJob(id);
      // Another tenant's job answers like a missing one, before its lease is looked at (as the other worker routes).
      const tenant = workerTenant(request);
      if (!job || (tenant !== null && job.tenant !== tenant)) throw new NotFoundError('job', id);
      // The attempt is the one the lease holds: a worker cannot write into another attempt's log.
      if (job.state !== 'running') throw new TransitionRejected(id, { ok: false, reason: 'wrong_state', state: job.state });
      if (job.leaseToken !== request.body.leaseToken) throw new TransitionRejected(id, { ok: false, reason: 'lease_mismatch', state: job.state });
      const lines = request.body.lines.map((l, i) => {
        const at = Date.parse(l.at);
        if (!Number.isFinite(at)) throw new ValidationError([{ path: `/lines/${i}/at`, message: `"${l.at}" is not a date-time` }]);
        return { at, level: l.level, message: l.message, ...(l.fields ? { fields: l.fields as Record<string, Json> } : {}) };
      });
      await jobs.logs.append(id, job.attempt, lines);
      return { kept: lines.length };
    },
  );

  app.get(
    '/v1/jobs/:id/logs',
    { config: { action: 'jobs:read' }, schema: { params: IdParams, querystring: LogQuerySchema, response: { 200: LogPageReply, ...PROBLEMS } } },
    async (request) => {
      const { id } = request.params;
      await visibleJob(jobs, request, id);
      const limit = request.query.limit ?? 200;
      const page = await jobs.logs.read(id, { ...queryOf(request.query, request.query.cursor), limit });
      const stored = page.lines.filter((l) => l.id > 0);
      return { lines: page.lines.map(logLineView), nextCursor: stored.length === limit ? String(stored[stored.length - 1]!.id) : null, dropped: page.dropped };
    },
  );

  app.get(
    '/v1/jobs/:id/logs/stream',
    {
      config: { action: 'jobs:read' },
      schema: {
        params: IdParams,
        querystring: LogStreamQuery,
        response: { 200: { description: 'text/event-stream: `log` events (`id` the line id, `data` the line), then one `end` event once the job has finished', type: 'string' }, ...PROBLEMS },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await visibleJob(jobs, request, id);
      const header = request.headers['last-event-id'];
      const resume = request.query.cursor ?? (typeof header === 'string' ? header : undefined);
      if (resume !== undefined && !/^[0-9]{1,16}$/.test(resume)) {
        throw new ValidationError([{ path: '/headers/last-event-id', message: `must be a line id (a whole number), got ${JSON.stringify(resume)}` }]);
      }
      const query = queryOf(request.query, resume);
      reply.hijack();
      await streamLines(jobs, request, reply.raw, id, query, closing);
    },
  );
}

function queryOf(q: LogQueryType, cursor: string | undefined): Omit<LogQuery, 'limit'> {
  return {
    after: cursor !== undefined ? Number(cursor) : 0,
    ...(q.attempt !== undefined ? { attempt: q.attempt } : {}),
    ...(q.level !== undefined ? { minLevel: LOG_LEVELS[q.level as LogLevelName] } : {}),
  };
}

/**
 * Writes the job's lines as they come, then `end` once the job is finished and every line written
 * before that was sent (a worker sends a job's lines before its outcome).
 */
function streamLines(jobs: Jobs, request: FastifyRequest, out: ServerResponse, id: string, query: Omit<LogQuery, 'limit'>, closing: AbortSignal): Promise<void> {
  let after = query.after;
  const onNudge = (nudge: () => void) => jobs.logs.onAppended((ids) => ids.has(id) && nudge());
  return serveSse(out, { comment: `docket log stream of job ${id}`, closing, onNudge, onError: (err) => request.log.warn({ err }, 'log stream stopped') }, async (write) => {
    // The state first: lines read after seeing it finished are all the lines it will have.
    const state = (await jobs.queries.get(id))?.state;
    const page = await jobs.logs.read(id, { ...query, after, limit: PAGE });
    for (const line of page.lines) {
      write(`id: ${line.id}\nevent: log\ndata: ${JSON.stringify(logLineView(line))}\n\n`);
      after = Math.max(after, line.id);
    }
    if (page.lines.length >= PAGE) return 'more';
    if (state !== undefined && !TERMINAL_STATES.has(state)) return 'wait';
    write(`event: end\ndata: ${JSON.stringify({ end: true, state: state ?? null })}\n\n`);
    return 'done';
  });
}
