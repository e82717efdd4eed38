import { Type } from '@sinclair/typebox';
import { ALERT_KINDS, alertView } from '../../../domain/alerts.js';
import type { AlertStore } from '../../../ports/alert-store.js';
import { PROBLEMS } from '../schemas.js';
import type { Api } from '../server.js';

export const AlertViewSchema = Type.Object(
  {
    id: Type.String({ description: 'this firing of the rule (UUIDv7); the subject of its events' }),
    rule: Type.String({ description: 'the rule\'s name in the configuration file' }),
    kind: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k))),
    queue: Type.Union([Type.String(), Type.Null()], { description: 'the queue measured; null: every queue, or a condition rule' }),
    state: Type.Union([Type.Literal('firing'), Type.Literal('resolved')]),
    value: Type.Number({ description: 'the measured value: the latest while firing, the last one when resolved' }),
    threshold: Type.Number({ description: 'the rule\'s threshold (seconds for oldest-ready and condition-open, a ratio for failure-rate)' }),
    firedAt: Type.String({ format: 'date-time' }),
    resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    message: Type.String({ description: 'what was measured, for people' }),
  },
  { additionalProperties: false },
);

const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('resolved')], { description: 'only alerts in this state' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'at most this many, newest first (default 100)' })),
  },
  { additionalProperties: false },
);

const AlertsReply = Type.Object({ alerts: Type.Array(AlertViewSchema) }, { additionalProperties: false });

/** `GET /v1/alerts`: alerts firing now and resolved ones of the last 30 days, newest first (docs/alerts.md). */
export function alertRoutes(app: Api, alerts: AlertStore): void {
  app.get(
    '/v1/alerts',
    { config: { action: 'alerts:read' }, schema: { querystring: AlertsQuery, response: { 200: AlertsReply, ...PROBLEMS } } },
    async (request) => {
      const { state, limit } = request.query;
      return { alerts: (await alerts.list({ ...(state ? { state } : {}), limit: limit ?? 100 })).map(alertView) };
    },
  );
}
