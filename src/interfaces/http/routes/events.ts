import { Type } from '@sinclair/typebox';
import type { EventLog, LogEvent } from '../../../ports/event-log.js';
import { envelopeOf } from '../../../services/events/envelope.js';
import { ValidationError } from '../../../domain/errors.js';
import { listedTenant } from '../access.js';
import { PROBLEMS } from '../schemas.js';
import type { Api, RouteDeps } from '../server.js';
import { serveSse } from '../sse.js';

/** What the stream route needs: the event log, the envelopes' source, and a nudge when new events are positioned here. */
export interface EventStreamDeps {
  log: EventLog;
  source: string;
  /** Calls `listener` when this process has just positioned events (the leader); returns an unsubscribe. */
  onPositioned?: (listener: () => void) => () => void;
}

const StreamQuery = Type.Object(
  {
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'admins only: one tenant\'s events' })),
    topics: Type.Optional(Type.String({ description: 'comma-separated: job-events, worker-events, dependency-events, alert-events' })),
    types: Type.Optional(Type.String({ description: 'comma-separated event types, e.g. docket.job.succeeded,docket.job.failed' })),
    jobId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'only events about this job' })),
    lastEventId: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$', description: 'resume after this event (as the Last-Event-ID header)' })),
  },
  { additionalProperties: false },
);

const PAGE = 500;

/**
 * `GET /v1/events/stream`: Server-Sent Events of the caller's tenant, read from the event log by
 * position. Each event's SSE id is its position, so a client that reconnects with `Last-Event-ID`
 * (browsers' EventSource do so themselves) resumes right after the last event it got, for as long
 * as the log keeps events (24 h by default).
 */
export function eventRoutes(app: Api, { events, closing }: RouteDeps): void {
  if (!events) return;
  app.get(
    '/v1/events/stream',
    {
      config: { action: 'events:read' },
      schema: {
        querystring: StreamQuery,
        response: { 200: { description: 'text/event-stream: `id` (log position), `event` (the type), `data` (the event envelope, JSON)', type: 'string' }, ...PROBLEMS },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const tenant = listedTenant(request, q.tenant, 'events');
      const topics = q.topics?.split(',').map((t) => t.trim()).filter(Boolean);
      const types = new Set(q.types?.split(',').map((t) => t.trim()).filter(Boolean));
      const header = request.headers['last-event-id'];
      const resumeFrom = q.lastEventId ?? (typeof header === 'string' ? header : undefined);
      if (resumeFrom !== undefined && !/^[0-9]{1,16}$/.test(resumeFrom)) {
        throw new ValidationError([{ path: '/headers/last-event-id', message: `must be an event id (a whole number), got ${JSON.stringify(resumeFrom)}` }]);
      }
      let after = resumeFrom !== undefined ? Number(resumeFrom) : await events.log.lastPosition();
      const wanted = (e: LogEvent) => (q.jobId === undefined || e.key === q.jobId) && (types.size === 0 || types.has(envelopeOf(e, events.source).type));

      reply.hijack();
      await serveSse(reply.raw, { comment: `docket event stream from ${after}`, closing, ...(events.onPositioned ? { onNudge: events.onPositioned } : {}), onError: (err) => request.log.warn({ err }, 'event stream stopped') }, async (write) => {
        // Pin the end first: a filtered read that finds nothing still moves past what it looked at.
        const end = await events.log.lastPosition();
        const page = await events.log.read(after, PAGE, { upTo: end, ...(tenant !== undefined ? { tenant } : {}), ...(topics ? { topics } : {}) });
        for (const e of page) {
          if (!wanted(e)) continue;
          const envelope = envelopeOf(e, events.source);
          write(`id: ${e.pos}\nevent: ${envelope.type}\ndata: ${JSON.stringify(envelope)}\n\n`);
        }
        after = page.length === PAGE ? page[page.length - 1]!.pos : Math.max(after, end);
        return page.length === PAGE ? 'more' : 'wait';
      });
    },
  );
}
