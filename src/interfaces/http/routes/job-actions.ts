import { Type, type Static } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../../../domain/errors.js';
import type { Job } from '../../../domain/job.js';
import { TERMINAL_STATES } from '../../../domain/states.js';
import type { Jobs } from '../../../services/jobs/index.js';
import { canSee } from '../access.js';
import { TransitionRejected } from '../problem.js';
import { IdParams, JobViewSchema, ListQuery, PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';
import { toFilter, visibleJob } from './jobs.js';

/** What each bulk action applies to: the jobs it would change, and how. */
const ACTIONS = {
  cancel: { applies: (j: Job) => !TERMINAL_STATES.has(j.state), what: 'jobs that have not finished' },
  retry: { applies: (j: Job) => j.state === 'failed', what: 'failed jobs' },
  delete: { applies: (j: Job) => TERMINAL_STATES.has(j.state), what: 'finished jobs' },
} as const;
type ActionName = keyof typeof ACTIONS;

const MAX_IDS = 1000;
const MAX_MATCHED = 10_000;

const ActionBody = Type.Object(
  {
    action: Type.Union([Type.Literal('cancel'), Type.Literal('retry'), Type.Literal('delete')], {
      description: 'cancel: jobs not finished; retry: failed jobs, in place (a new attempt budget, the same id); delete: finished jobs, with their logs',
    }),
    ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: MAX_IDS, description: 'these jobs (others\' and unknown ids are skipped)' })),
    filter: Type.Optional(Type.Omit(ListQuery, ['limit', 'cursor'], { description: 'every job matching, as GET /v1/jobs filters ({} for every job you may see)' })),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_MATCHED, default: MAX_MATCHED, description: 'most jobs a filter selects' })),
    dryRun: Type.Optional(Type.Boolean({ description: 'count what would change, change nothing (for a confirmation)' })),
  },
  { additionalProperties: false },
);

const ActionReply = Type.Object({
  action: Type.String(),
  matched: Type.Integer({ description: 'jobs the selection holds that the action applies to' }),
  applied: Type.Integer({ description: 'of them, changed now (0 on a dry run; fewer when some moved meanwhile)' }),
  ids: Type.Array(Type.String(), { description: 'the jobs changed' }),
});

/**
 * Operator actions on jobs: a failed job retried in place, and cancel, retry or delete of many jobs
 * at once (selected ids, or all matching a filter), with a dry run that says how many.
 */
export function jobActionRoutes(app: Api, { jobs }: RouteDeps): void {
  app.post(
    '/v1/jobs/:id/retry',
    { config: { action: 'deadletters:manage' }, schema: { params: IdParams, response: { 200: JobViewSchema, ...PROBLEMS } } },
    async (request) => {
      const { id } = request.params;
      const job = await visibleJob(jobs, request, id);
      if (job.state !== 'failed') throw new TransitionRejected(id, { ok: false, reason: 'wrong_state', state: job.state });
      const [retried] = await jobs.deadLetters.requeue([job]);
      if (!retried) throw new TransitionRejected(id, { ok: false, reason: 'wrong_state', state: (await jobs.queries.get(id))?.state ?? job.state });
      return jobView(retried);
    },
  );

  app.post(
    '/v1/jobs/actions',
    // cancel needs jobs:cancel, retry and delete deadletters:manage: today the same roles (admin, submitter).
    { config: { action: 'jobs:cancel' }, schema: { body: ActionBody, response: { 200: ActionReply, ...PROBLEMS } } },
    async (request) => {
      const b = request.body;
      const action = ACTIONS[b.action as ActionName];
      const matched = (await select(jobs, request, b)).filter(action.applies);
      if (b.dryRun) return { action: b.action, matched: matched.length, applied: 0, ids: [] };
      const ids = await apply(jobs, b.action as ActionName, matched);
      return { action: b.action, matched: matched.length, applied: ids.length, ids };
    },
  );
}

/** The jobs of a bulk action: by id (others' and unknown ids skipped), or by filter. */
async function select(jobs: Jobs, request: FastifyRequest, body: Static<typeof ActionBody>): Promise<Job[]> {
  if (body.ids && body.filter) throw new ValidationError([{ path: '/filter', message: 'give ids or a filter, not both' }]);
  if (body.ids) {
    const found = await Promise.all([...new Set(body.ids)].map((id) => jobs.queries.get(id)));
    return found.filter((j): j is Job => j !== undefined && canSee(request, j.tenant));
  }
  if (!body.filter) throw new ValidationError([{ path: '/ids', message: 'give ids or a filter ({} for every job you may see)' }]);
  return jobs.queries.upTo(toFilter(body.filter, request), body.max ?? MAX_MATCHED);
}

async function apply(jobs: Jobs, action: ActionName, selected: Job[]): Promise<string[]> {
  if (action === 'retry') return (await jobs.deadLetters.requeue(selected)).map((j) => j.id);
  if (action === 'delete') {
    await jobs.deadLetters.purge(selected.map((j) => j.id));
    return selected.map((j) => j.id);
  }
  const done: string[] = [];
  for (const j of selected) if ((await jobs.cancels.cancel(j.id)).ok) done.push(j.id);
  return done;
}
