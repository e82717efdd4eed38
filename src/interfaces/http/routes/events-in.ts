import { Type } from '@sinclair/typebox';
import { ForbiddenError, ValidationError } from '../../../domain/errors.js';
import { CloudEventSchema, readCloudEvent } from '../../../domain/ingest/cloud-event.js';
import { EventRuleError } from '../../../domain/ingest/enricher.js';
import { pointerOf } from '../../../domain/ingest/field-path.js';
import { carrierOfHeaders } from '../../../domain/trace-context.js';
import type { EventEnvelope } from '../../../ports/event-bus.js';
import { EventUnmatchedError, type IngestPipeline, type IngestResult } from '../../../services/ingest/pipeline.js';
import { owningTenant } from '../access.js';
import { problemOf, sendProblem } from '../problem.js';
import { JobViewSchema, PROBLEMS, TraceHeaders } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { jobView } from '../views.js';

/**
 * One business event, a CloudEvent 1.0 in JSON (structured mode): the same check as the Kafka
 * consumer's (src/domain/ingest/cloud-event.ts). `id` is what makes a retried POST create no
 * second set of jobs (unless the rule dedups on data fields). Extension attributes are allowed.
 */
export const EventBody = CloudEventSchema;

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
    {
      config: { action: 'events:submit' },
      schema: { headers: Type.Object(TraceHeaders), body: EventBody, response: { 200: EventReply, 201: EventReply, ...PROBLEMS } },
      // The schema documents the body; readCloudEvent checks it, as the Kafka consumer does, naming every problem.
      validatorCompiler: () => (value: unknown) => ({ value }),
    },
    async (request, reply) => {
      if (!ingest) {
        return sendProblem(reply, problemOf(request, 501, 'ingest-not-configured', 'Not Implemented', 'this server has no ingest rules: add an "ingest" section to its configuration file (docs/ingestion.md)'));
      }
      const tenant = owningTenant(request);
      const named = (request.body as { tenant?: unknown } | null)?.tenant;
      if (typeof named === 'string' && named !== tenant) {
        throw new ForbiddenError(`the event's tenant "${named}" is not the tenant this request acts for ("${tenant}"); admins act for a tenant with the docket-tenant header`);
      }
      const read = readCloudEvent(request.body, { receivedAt: new Date().toISOString(), tenant });
      if (!read.ok) throw new ValidationError(read.issues);
      // Extension attributes travel with the event (dead letters, matching).
      const event = read.event as EventEnvelope;
      let result: IngestResult;
      try {
        result = await ingest.ingest(event, carrierOfHeaders(request.headers));
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
