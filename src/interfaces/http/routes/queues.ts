import { JOB_STATES, type JobState } from '../../../domain/states.js';
import { visibleTenant } from '../access.js';
import { PROBLEMS, QueueParams, QueuesReply, QueueView } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';

/** Queues: depth per state (the caller's tenant only, unless admin), pause and resume (admins). */
export function queueRoutes(app: Api, { service }: RouteDeps): void {
  app.get('/v1/queues', { config: { action: 'queues:read' }, schema: { response: { 200: QueuesReply, ...PROBLEMS } } }, async (request) => ({
    queues: (await service.queues(visibleTenant(request))).map((q) => ({ name: q.queue, paused: q.paused, counts: q.counts })),
  }));

  for (const verb of ['pause', 'resume'] as const) {
    app.post(
      `/v1/queues/:queue/${verb}`,
      { config: { action: 'queues:manage' }, schema: { params: QueueParams, response: { 200: QueueView, ...PROBLEMS } } },
      async (request) => {
        const { queue } = request.params;
        await service.setPaused(queue, verb === 'pause');
        const depth = (await service.queues(null)).find((q) => q.queue === queue);
        return { name: queue, paused: service.isPaused(queue), counts: depth?.counts ?? emptyCounts() };
      },
    );
  }
}

function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
}
