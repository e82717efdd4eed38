import type { Job } from '../../../domain/job.js';
import type { Jobs } from '../../../services/jobs/index.js';
import { DependenciesReply, IdParams, PROBLEMS, type JobView } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';
import { visibleJob } from './jobs.js';

/**
 * GET /v1/jobs/:id/dependencies: a job's dependencies with their state and result, and its
 * dependents. Workers may read it (jobs:read): it is how a remote worker's handler reads the
 * results of the jobs it waited for (docs/dependencies.md).
 */
export function dependencyRoutes(app: Api, { jobs }: RouteDeps): void {
  app.get(
    '/v1/jobs/:id/dependencies',
    { config: { action: 'jobs:read' }, schema: { params: IdParams, response: { 200: DependenciesReply, ...PROBLEMS } } },
    async (request) => {
      const job = await visibleJob(jobs, request, request.params.id);
      const [deps, dependents] = await Promise.all([jobs.dependencies.dependenciesOf(job.id), jobs.dependencies.dependentsOf(job.id)]);
      return {
        jobId: job.id,
        onDependencyFailure: deps?.policy ?? null,
        dependencies: (deps?.dependencies ?? []).map((d) => ({
          id: d.id,
          type: d.type,
          state: d.state,
          ...(d.result !== undefined ? { result: d.result } : {}),
          error: d.error && { ...d.error, at: new Date(d.error.at).toISOString() },
          finishedAt: d.finishedAt === null ? null : new Date(d.finishedAt).toISOString(),
        })),
        dependents,
      };
    },
  );
}

/** A single job's view with its dependencies and dependents (GET /v1/jobs/:id). Absent when none. */
export async function jobViewWithDependencies(jobs: Jobs, job: Job): Promise<JobView> {
  const [deps, dependents] = await Promise.all([jobs.dependencies.dependenciesOf(job.id), jobs.dependencies.dependentsOf(job.id)]);
  const view = jobView(deps ? { ...job, dependsOn: deps.dependencies.map((d) => d.id), onDependencyFailure: deps.policy } : job);
  if (dependents.length > 0) view.dependents = dependents.map((d) => d.id);
  return view;
}
