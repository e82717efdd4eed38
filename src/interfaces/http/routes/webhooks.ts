import { ForbiddenError, ValidationError } from '../../../domain/errors.js';
import { isAdmin } from '../../../auth/roles.js';
import { CLUSTER_TENANT } from '../../../services/events/evented-worker-directory.js';
import type { CallbackSecret, Delivery, Webhook } from '../../../ports/webhook-store.js';
import type { WebhookService } from '../../../services/webhooks/service.js';
import { caller, listedTenant, owningTenant, visibleTenant } from '../access.js';
import { NoContent, PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import {
  CallbackSecretReply,
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveriesReply,
  PingReply,
  UpdateWebhookBody,
  WebhookListQuery,
  WebhookParams,
  WebhooksReply,
  WebhookView,
  WebhookWithSecret,
} from '../webhook-schemas.js';

/**
 * `/v1/webhooks`: a tenant's subscriptions and their delivery logs (docs/webhooks.md). The signing
 * secret is in the reply of creation and rotation only. Another tenant's subscription answers 404.
 */
export function webhookRoutes(app: Api, { jobs }: RouteDeps, webhooks: WebhookService): void {
  const read = { config: { action: 'webhooks:read' as const } };
  const manage = { config: { action: 'webhooks:manage' as const } };

  app.post('/v1/webhooks', { ...manage, schema: { body: CreateWebhookBody, response: { 201: WebhookWithSecret, ...PROBLEMS } } }, async (request, reply) => {
    // Worker and alert events belong to no tenant (tenant "*"): admins subscribe to them with `cluster`.
    if (request.body.cluster && !isAdmin(caller(request))) throw new ForbiddenError('only admins subscribe to the cluster\'s events (cluster: true)');
    const tenant = request.body.cluster ? CLUSTER_TENANT : owningTenant(request);
    const { jobId, queue } = request.body;
    // With a queue too, the service refuses the pair, which says more than a missing job would.
    if (jobId !== undefined && queue === undefined) {
      const job = await jobs.queries.get(jobId);
      if (!job || job.tenant !== tenant) throw new ValidationError([{ path: '/jobId', message: `no job ${jobId} of tenant ${tenant}` }]);
    }
    return reply.code(201).send(withSecret(await webhooks.create(tenant, request.body)));
  });

  // Job callbacks (a job's callbackUrl) are signed with the tenant's callback secret: reading it is
  // managing webhooks (it signs them), like a subscription's secret.
  app.get('/v1/webhooks/callback-secret', { ...manage, schema: { response: { 200: CallbackSecretReply, ...PROBLEMS } } }, async (request) =>
    callbackSecretView(await webhooks.callbackSecret(owningTenant(request))),
  );

  app.post('/v1/webhooks/callback-secret/rotate', { ...manage, schema: { response: { 200: CallbackSecretReply, ...PROBLEMS } } }, async (request) =>
    callbackSecretView(await webhooks.rotateCallbackSecret(owningTenant(request))),
  );

  app.get('/v1/webhooks', { ...read, schema: { querystring: WebhookListQuery, response: { 200: WebhooksReply, ...PROBLEMS } } }, async (request) => ({
    webhooks: (await webhooks.list(listedTenant(request, request.query.tenant, 'webhooks'))).map(webhookView),
  }));

  app.get('/v1/webhooks/:id', { ...read, schema: { params: WebhookParams, response: { 200: WebhookView, ...PROBLEMS } } }, async (request) =>
    webhookView(await webhooks.get(request.params.id, visibleTenant(request))),
  );

  app.patch('/v1/webhooks/:id', { ...manage, schema: { params: WebhookParams, body: UpdateWebhookBody, response: { 200: WebhookView, ...PROBLEMS } } }, async (request) =>
    webhookView(await webhooks.update(request.params.id, visibleTenant(request), request.body)),
  );

  app.delete('/v1/webhooks/:id', { ...manage, schema: { params: WebhookParams, response: { 204: NoContent, ...PROBLEMS } } }, async (request, reply) => {
    await webhooks.delete(request.params.id, visibleTenant(request));
    return reply.code(204).send(null);
  });

  app.post('/v1/webhooks/:id/enable', { ...manage, schema: { params: WebhookParams, response: { 200: WebhookView, ...PROBLEMS } } }, async (request) =>
    webhookView(await webhooks.enable(request.params.id, visibleTenant(request))),
  );

  app.post('/v1/webhooks/:id/rotate-secret', { ...manage, schema: { params: WebhookParams, response: { 200: WebhookWithSecret, ...PROBLEMS } } }, async (request) =>
    withSecret(await webhooks.rotateSecret(request.params.id, visibleTenant(request))),
  );

  app.post('/v1/webhooks/:id/test', { ...manage, schema: { params: WebhookParams, response: { 200: PingReply, ...PROBLEMS } } }, async (request) => {
    const r = await webhooks.ping(request.params.id, visibleTenant(request));
    return { eventId: r.eventId, delivered: r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300, statusCode: r.statusCode, error: r.error, durationMs: r.durationMs };
  });

  app.get(
    '/v1/webhooks/:id/deliveries',
    { ...read, schema: { params: WebhookParams, querystring: DeliveriesQuery, response: { 200: DeliveriesReply, ...PROBLEMS } } },
    async (request) => {
      const { status, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const deliveries = await webhooks.deliveries(request.params.id, visibleTenant(request), {
        limit,
        ...(status ? { status } : {}),
        ...(cursor !== undefined ? { beforePos: Number(cursor) } : {}),
      });
      const last = deliveries[deliveries.length - 1];
      return { deliveries: deliveries.map(deliveryView), nextCursor: deliveries.length === limit && last ? String(last.eventPos) : null };
    },
  );
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function webhookView(w: Webhook) {
  return {
    id: w.id,
    tenant: w.tenant,
    url: w.url,
    scope: w.scope.kind,
    queue: w.scope.kind === 'queue' ? w.scope.queue : null,
    jobId: w.scope.kind === 'job' ? w.scope.jobId : null,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    disabledAt: isoOrNull(w.disabledAt),
    disabledReason: w.disabledReason,
    consecutiveFailures: w.consecutiveFailures,
    createdAt: iso(w.createdAt),
    updatedAt: iso(w.updatedAt),
  };
}

function callbackSecretView(s: CallbackSecret) {
  return { tenant: s.tenant, secret: s.secret, createdAt: iso(s.createdAt) };
}

function withSecret(w: Webhook) {
  return { ...webhookView(w), secret: w.secret };
}

function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: String(d.eventPos),
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? isoOrNull(d.nextAttemptAt) : null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    lastDurationMs: d.lastDurationMs,
    createdAt: iso(d.createdAt),
    finishedAt: isoOrNull(d.finishedAt),
    history: d.history.map((a) => ({ attempt: a.attempt, at: iso(a.at), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })),
  };
}
