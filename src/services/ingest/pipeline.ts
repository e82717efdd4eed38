import { createHash } from 'node:crypto';
import { DocketError, ValidationError } from '../../domain/errors.js';
import { EventRuleError, plan, type PlannedJob } from '../../domain/ingest/enricher.js';
import { route, type Miss } from '../../domain/ingest/router.js';
import type { IngestConfig } from '../../domain/ingest/rules.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../../domain/job-input.js';
import type { Clock } from '../../ports/clock.js';
import type { EventEnvelope } from '../../ports/event-bus.js';
import type { Jobs } from '../jobs/index.js';
import { carrierOf, type TraceCarrier } from '../../domain/trace-context.js';

/** One job an event made, or found already made (a redelivery, or an event with the same dedup key). */
export interface IngestedJob {
  rule: string;
  /** Index of the job in the rule's `jobs`. */
  index: number;
  id: string;
  deduplicated: boolean;
}

export interface IngestResult {
  eventId: string;
  /** Names of the rules that took the event. */
  rules: string[];
  jobs: IngestedJob[];
}

/** No rule takes the event; `misses` says, per rule, the first condition that failed. */
export class EventUnmatchedError extends DocketError {
  constructor(
    readonly eventId: string,
    readonly misses: Miss[],
  ) {
    const why = misses.slice(0, 5).map((m) => `rule "${m.rule}": ${m.path} ${m.reason}`);
    super('event_unmatched', `no ingest rule matches event ${eventId}${why.length > 0 ? `: ${why.join('; ')}${misses.length > 5 ? `; and ${misses.length - 5} more` : ''}` : ' (no rules are configured)'}`);
  }
}

/**
 * Events in, jobs out: router, enricher and publisher of seed 000, shared by the Kafka consumer
 * and POST /v1/events. The jobs of an event are all planned and validated before the first is
 * created; each is then submitted with its own idempotency key, stored in the transaction that
 * creates the job, so a redelivered event (or one retried after a crash half-way through its jobs)
 * creates only what is not there yet. The keys live as long as the housekeeper keeps idempotency
 * records (24 h): that is the dedup window.
 */
export class IngestPipeline {
  constructor(
    private readonly service: Jobs,
    private readonly clock: Clock,
    readonly config: IngestConfig,
    private readonly limits: InputLimits = DEFAULT_INPUT_LIMITS,
  ) {}

  /**
   * Creates the jobs the rules make of `event`, for `event.tenant`; resolves once they are stored.
   * `transport`: the trace context of the request that delivered the event, if any.
   * Throws EventUnmatchedError or EventRuleError when the event cannot become jobs (nothing was
   * created); any other error is the engine's (store down) and the event should come again.
   */
  async ingest(event: EventEnvelope, transport?: TraceCarrier | null): Promise<IngestResult> {
    const { matched, misses } = route(event, this.config.rules);
    if (matched.length === 0) throw new EventUnmatchedError(event.id, misses);
    const planned = plan(event, matched, this.clock.now(), this.limits);
    // The trace of the request or record that delivered the event, else the event's own (docs/tracing.md).
    const trace = transport ?? carrierOf(event.traceparent, event.tracestate);
    const jobs: IngestedJob[] = [];
    for (const job of planned) jobs.push(await this.submit(event, job, trace));
    return { eventId: event.id, rules: matched.map((r) => r.name), jobs };
  }

  private async submit(event: EventEnvelope, job: PlannedJob, trace: TraceCarrier | null): Promise<IngestedJob> {
    // The body hash is the key's own: another event with the same dedup values is a duplicate, not
    // a conflicting reuse of the key (which submitOnce would refuse).
    const requestHash = createHash('sha256').update(job.idempotencyKey).digest('hex');
    try {
      const reply = await this.service.submitter.submitOnce([job.input], { tenant: event.tenant, trace }, {
        key: job.idempotencyKey,
        requestHash,
        // A dedup rule of the config file (docs/jobs.md#deduplication) may answer with an existing job.
        render: ([created], [dup]) => ({ status: dup ? 200 : 201, body: { id: created!.id, deduplicated: dup === true } }),
      });
      const { id, deduplicated } = JSON.parse(reply.response) as { id: string; deduplicated?: boolean };
      return { rule: job.rule, index: job.index, id, deduplicated: reply.replayed || deduplicated === true };
    } catch (err) {
      // Planned jobs were validated already; this is a rule of the service that planning missed.
      if (err instanceof ValidationError) throw new EventRuleError(err.issues.map((i) => ({ path: '', message: `rule "${job.rule}" jobs[${job.index}]: ${i.path}: ${i.message}` })));
      throw err;
    }
  }
}
