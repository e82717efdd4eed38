import { JOB_STATES, type JobState } from '../../../domain/states.js';
import { visibleTenant } from '../access.js';
import { PROBLEMS, QueueParams, QueuesReply, QueueStatsQuery, QueueStatsReply, QueueView } from '../schemas.js';

const MINUTE = 60_000;
import type { Api, RouteDeps } from '../server.js';

/** Queues: depth per state (the caller's tenant only, unless admin), pause and resume (admins). */
export function queueRoutes(app: Api, { jobs }: RouteDeps): void {
  app.get('/v1/queues', { config: { action: 'queues:read' }, schema: { response: { 200: QueuesReply, ...PROBLEMS } } }, async (request) => ({
    queues: (await jobs.queries.queues(visibleTenant(request))).map((q) => ({ name: q.queue, paused: q.paused, counts: q.counts })),
  }));

  // Depth and the recent past per queue, for the dashboard: jobs finished per minute (throughput,
  // failure rate) and how long the oldest ready job has been due.
  app.get(
    '/v1/queues/stats',
    { config: { action: 'queues:read' }, schema: { querystring: QueueStatsQuery, response: { 200: QueueStatsReply, ...PROBLEMS } } },
    async (request) => {
      const slots = request.query.minutes ?? 60;
      const { now, since, queues } = await jobs.queries.queueStats(visibleTenant(request), slots, MINUTE);
      const iso = (ms: number) => new Date(ms).toISOString();
      return {
        since: iso(since),
        until: iso(now),
        bucketSeconds: MINUTE / 1000,
        queues: queues.map((q) => ({
          name: q.queue,
          paused: q.paused,
          counts: q.counts,
          finished: q.totals,
          failureRate: q.failureRate,
          oldestReadyAt: q.oldestReadyAt === null ? null : iso(q.oldestReadyAt),
          oldestReadyAgeMs: q.oldestReadyAt === null ? null : Math.max(0, now - q.oldestReadyAt),
          series: q.series.map(({ at, ...counts }) => ({ at: iso(at), ...counts })),
        })),
      };
    },
  );

  for (const verb of ['pause', 'resume'] as const) {
    app.post(
      `/v1/queues/:queue/${verb}`,
      { config: { action: 'queues:manage' }, schema: { params: QueueParams, response: { 200: QueueView, ...PROBLEMS } } },
      async (request) => {
        const { queue } = request.params;
        await jobs.pauses.set(queue, verb === 'pause');
        const depth = (await jobs.queries.queues(null)).find((q) => q.queue === queue);
        return { name: queue, paused: jobs.pauses.isPaused(queue), counts: depth?.counts ?? emptyCounts() };
      },
    );
  }
}

function emptyCounts(): Record<JobState, number> {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
}
