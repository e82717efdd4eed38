import { Type, type Static } from '@sinclair/typebox';
import { ForbiddenError } from '../../../domain/errors.js';
import { EventRuleError } from '../../../domain/ingest/enricher.js';
import { pointerOf } from '../../../domain/ingest/field-path.js';
import { NAME_PATTERN } from '../../../domain/job-input.js';
import { EVENT_SPEC_VERSION, type EventEnvelope } from '../../../ports/event-bus.js';
import { EventUnmatchedError, type IngestPipeline, type IngestResult } from '../../../services/ingest/pipeline.js';
import { owningTenant } from '../access.js';
import { problemOf, sendProblem } from '../problem.js';
import { JobViewSchema, PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';

/**
 * One business event, CloudEvents-style: the envelope the Kafka consumer reads, with `specversion`
 * and `time` optional here. `id` is required: it is what makes a retried POST create no second
 * set of jobs (unless the rule dedups on data fields). Extension attributes are allowed, as in
 * CloudEvents.
 */
export const EventBody = Type.Object(
  {
    specversion: Type.Optional(Type.Literal(EVENT_SPEC_VERSION)),
    id: Type.String({ minLength: 1, maxLength: 256, description: 'unique per event from its source; a retry sends the same id' }),
    type: Type.String({ minLength: 1, maxLength: 256, description: 'e.g. com.acme.order.paid' }),
    source: Type.String({ minLength: 1, maxLength: 1024, description: 'who emitted it, e.g. urn:acme:shop' }),
    time: Type.Optional(Type.String({ format: 'date-time', description: 'default: when it is received' })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'must be the tenant the request acts for; default that tenant' })),
    linkId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()], { description: "the jobs' linkId; default the event id" })),
    subject: Type.Optional(Type.String({ maxLength: 1024 })),
    data: Type.Unknown({ description: 'the event itself: any JSON' }),
  },
  { additionalProperties: true },
);

export const EventReply = Type.Object({
  eventId: Type.String(),
  rules: Type.Array(Type.String(), { description: 'the rules that took the event' }),
  jobs: Type.Array(
    Type.Object({
      rule: Type.String(),
      index: Type.Integer({ description: "the job's index in the rule's jobs" }),
      id: Type.String(),
      deduplicated: Type.Boolean({ description: 'true: the job existed already (same event again, or the same dedup key)' }),
      job: Type.Union([JobViewSchema, Type.Null()], { description: 'the job now; null when no longer kept' }),
    }),
  ),
});

/**
 * POST /v1/events: the ingest pipeline over HTTP, for users without Kafka and for the embedded
 * mode. The same rules as the Kafka consumer, for the caller's tenant. 201 when a job was created,
 * 200 when every job existed already or the rules create none; an event no rule takes, or that
 * breaks a rule, gets 422 naming the event's fields (where the consumer would dead-letter it).
 */
export function eventsInRoutes(app: Api, { jobs }: RouteDeps, ingest: IngestPipeline | null): void {
  app.post(
    '/v1/events',
    { config: { action: 'events:submit' }, schema: { body: EventBody, response: { 200: EventReply, 201: EventReply, ...PROBLEMS } } },
    async (request, reply) => {
      if (!ingest) {
        return sendProblem(reply, problemOf(request, 501, 'ingest-not-configured', 'Not Implemented', 'this server has no ingest rules: add an "ingest" section to its configuration file (docs/ingestion.md)'));
      }
      const body = request.body as Static<typeof EventBody>;
      const tenant = owningTenant(request);
      if (body.tenant !== undefined && body.tenant !== tenant) {
        throw new ForbiddenError(`the event's tenant "${body.tenant}" is not the tenant this request acts for ("${tenant}"); admins act for a tenant with the docket-tenant header`);
      }
      // Extension attributes travel with the event (dead letters, matching); the core ones are set here.
      const event: EventEnvelope = {
        ...(body as Omit<EventEnvelope, 'data'>),
        specversion: EVENT_SPEC_VERSION,
        time: body.time ?? new Date().toISOString(),
        tenant,
        linkId: body.linkId ?? null,
        data: (body.data ?? null) as EventEnvelope['data'],
      };
      let result: IngestResult;
      try {
        result = await ingest.ingest(event);
      } catch (err) {
        if (err instanceof EventUnmatchedError) {
          const errors = err.misses.map((m) => ({ path: pointerOf(m.path), message: `rule "${m.rule}": ${m.reason}` }));
          return sendProblem(reply, problemOf(request, 422, 'event-unmatched', 'Unprocessable Content', err.message, errors));
        }
        if (err instanceof EventRuleError) return sendProblem(reply, problemOf(request, 422, 'event-rule-broken', 'Unprocessable Content', err.message, err.issues));
        throw err;
      }
      const made = await Promise.all(
        result.jobs.map(async (j) => {
          const job = await jobs.queries.get(j.id);
          return { ...j, job: job ? jobView(job) : null };
        }),
      );
      const created = result.jobs.some((j) => !j.deduplicated);
      return reply.code(created ? 201 : 200).send({ eventId: result.eventId, rules: result.rules, jobs: made });
    },
  );
}
