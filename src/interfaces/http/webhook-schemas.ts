import { Type, type TSchema } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../domain/job-input.js';

/** Request and response shapes of `/v1/webhooks` (docs/webhooks.md). */

const Iso = (description: string) => Type.String({ format: 'date-time', description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'where deliveries are POSTed: an absolute http or https URL' });
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: 50,
  description: 'event types, e.g. ["job.succeeded", "job.failed"], "job.*" for every job event; absent, empty or ["*"]: all',
});
const Description = Type.String({ maxLength: 1000 });

export const WebhookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const CreateWebhookBody = Type.Object(
  {
    url: Url,
    events: Type.Optional(Events),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'only this queue\'s events' })),
    jobId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'only this job\'s events' })),
    description: Type.Optional(Description),
    cluster: Type.Optional(Type.Boolean({ description: 'admins: subscribe to the cluster\'s own events (tenant "*": worker.*, alert.*) rather than a tenant\'s' })),
  },
  { additionalProperties: false },
);

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Nullable(Description)),
    enabled: Type.Optional(Type.Boolean({ description: 'false disables; true enables again (as POST .../enable)' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const WebhookListQuery = Type.Object(
  { tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'admins only: one tenant\'s subscriptions' })) },
  { additionalProperties: false },
);

export const WebhookView = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  url: Type.String(),
  scope: Type.Union([Type.Literal('tenant'), Type.Literal('queue'), Type.Literal('job')], { description: 'what it listens to' }),
  queue: Nullable(Type.String()),
  jobId: Nullable(Type.String()),
  events: Type.Array(Type.String(), { description: 'event types; empty: all' }),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  disabledAt: Nullable(Iso('when it was disabled')),
  disabledReason: Nullable(Type.String()),
  consecutiveFailures: Type.Integer({ description: 'failed attempts in a row since the last success' }),
  createdAt: Iso('created'),
  updatedAt: Iso('last changed'),
});

/** The creation and rotation reply: the view plus the signing secret, shown only then. */
export const WebhookWithSecret = Type.Composite([
  WebhookView,
  Type.Object({ secret: Type.String({ description: 'HMAC-SHA256 key of Docket-Signature; shown only in this reply' }) }),
]);

export const WebhooksReply = Type.Object({ webhooks: Type.Array(WebhookView) });

/** GET /v1/webhooks/callback-secret and its rotation (docs/webhooks.md#job-callbacks). */
export const CallbackSecretReply = Type.Object({
  tenant: Type.String(),
  secret: Type.String({ description: 'HMAC-SHA256 key of the Docket-Signature of the tenant\'s job callbacks' }),
  createdAt: Iso('when this secret was made'),
});

const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);

export const DeliveriesQuery = Type.Object(
  {
    status: Type.Optional(DeliveryStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'page size (default 50)' })),
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);

export const DeliveryView = Type.Object({
  id: Type.String({ description: 'the Docket-Delivery-Id header' }),
  eventId: Type.String({ description: 'the envelope id (Docket-Event-Id); the same on every attempt' }),
  eventType: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Iso('when the next attempt is due (pending)')),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  lastDurationMs: Nullable(Type.Integer()),
  createdAt: Iso('when the event matched'),
  finishedAt: Nullable(Iso('delivered or given up')),
  history: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      at: Iso('when the attempt ended'),
      statusCode: Nullable(Type.Integer()),
      error: Nullable(Type.String()),
      durationMs: Type.Integer(),
    }),
  ),
});

export const DeliveriesReply = Type.Object({
  deliveries: Type.Array(DeliveryView),
  nextCursor: Nullable(Type.String({ description: 'pass as cursor for the next page; null on the last page' })),
});

export const PingReply = Type.Object({
  eventId: Type.String(),
  delivered: Type.Boolean({ description: 'the receiver answered 2xx' }),
  statusCode: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  durationMs: Type.Integer(),
});
