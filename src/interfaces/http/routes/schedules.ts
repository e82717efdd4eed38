import type { ScheduleRecord } from '../../../domain/schedule.js';
import type { ScheduleService } from '../../../services/schedule-service.js';
import type { WebhookService } from '../../../services/webhooks/service.js';
import { refuseInternalCallbacks } from '../callback-targets.js';
import { listedTenant, owningTenant, visibleTenant } from '../access.js';
import {
  FiresQuery,
  FiresReply,
  PreviewBody,
  PreviewReply,
  ScheduleBody,
  ScheduleListQuery,
  ScheduleListReply,
  ScheduleParams,
  SchedulePatchBody,
  ScheduleView,
  type ScheduleViewType,
} from '../schedule-schemas.js';
import { NoContent, PROBLEMS } from '../schemas.js';
import type { Api } from '../server.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/**
 * Cron schedules (docs/schedules.md). A schedule belongs to the caller's tenant (admins: the one
 * they act for) and is visible by the rules of jobs: another tenant's answers 404.
 */
export function scheduleRoutes(app: Api, schedules: ScheduleService, webhooks?: WebhookService): void {
  const read = { config: { action: 'schedules:read' as const } };
  const manage = { config: { action: 'schedules:manage' as const } };

  app.post('/v1/schedules', { ...manage, schema: { body: ScheduleBody, response: { 201: ScheduleView, ...PROBLEMS } } }, async (request, reply) => {
    await refuseInternalCallbacks(webhooks, [{ path: '/job', job: request.body.job }]);
    return reply.code(201).send(scheduleView(await schedules.create(request.body, owningTenant(request))));
  });

  // Before saving: the next fire times of an expression in a zone.
  app.post('/v1/schedules/preview', { ...read, schema: { body: PreviewBody, response: { 200: PreviewReply, ...PROBLEMS } } }, async (request) => {
    const { timezone, fires } = schedules.preview(request.body);
    return { timezone, fires: fires.map((f) => ({ at: iso(f.at), local: f.local })) };
  });

  app.get('/v1/schedules', { ...read, schema: { querystring: ScheduleListQuery, response: { 200: ScheduleListReply, ...PROBLEMS } } }, async (request) => {
    const q = request.query;
    const page = await schedules.list(listedTenant(request, q.tenant, 'schedules'), q.limit ?? 50, q.cursor);
    return { schedules: page.schedules.map((s) => scheduleView(s)), nextCursor: page.nextCursor };
  });

  app.get('/v1/schedules/:id', { ...read, schema: { params: ScheduleParams, response: { 200: ScheduleView, ...PROBLEMS } } }, async (request) => {
    const s = await schedules.get(request.params.id, visibleTenant(request));
    return { ...scheduleView(s), upcoming: schedules.upcoming(s, 5).map((f) => ({ at: iso(f.at), local: f.local })) };
  });

  app.patch('/v1/schedules/:id', { ...manage, schema: { params: ScheduleParams, body: SchedulePatchBody, response: { 200: ScheduleView, ...PROBLEMS } } }, async (request) => {
    await refuseInternalCallbacks(webhooks, [{ path: '/job', job: (request.body as { job?: unknown }).job }]);
    return scheduleView(await schedules.update(request.params.id, request.body, visibleTenant(request)));
  });

  app.delete('/v1/schedules/:id', { ...manage, schema: { params: ScheduleParams, response: { 204: NoContent, ...PROBLEMS } } }, async (request, reply) => {
    await schedules.delete(request.params.id, visibleTenant(request));
    return reply.code(204).send(null);
  });

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/v1/schedules/:id/${verb}`, { ...manage, schema: { params: ScheduleParams, response: { 200: ScheduleView, ...PROBLEMS } } }, async (request) =>
      scheduleView(await schedules.setPaused(request.params.id, paused, visibleTenant(request))),
    );
  }

  app.get('/v1/schedules/:id/fires', { ...read, schema: { params: ScheduleParams, querystring: FiresQuery, response: { 200: FiresReply, ...PROBLEMS } } }, async (request) => {
    const fires = await schedules.fires(request.params.id, visibleTenant(request), request.query.limit ?? 50);
    return { fires: fires.map((f) => ({ fireAt: iso(f.fireAt), outcome: f.outcome, jobId: f.jobId, recordedAt: iso(f.recordedAt) })) };
  });
}

function scheduleView(s: ScheduleRecord): ScheduleViewType {
  return {
    id: s.id,
    tenant: s.tenant,
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    job: s.job,
    overlap: s.overlap,
    catchUp: s.catchUp,
    catchUpLimit: s.catchUpLimit,
    paused: s.paused,
    startAt: isoOrNull(s.startAt),
    endAt: isoOrNull(s.endAt),
    nextFireAt: s.paused ? null : isoOrNull(s.nextFireAt),
    lastFireAt: isoOrNull(s.lastFireAt),
    lastJobId: s.lastJobId,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}
