import { EventRuleError } from '../../domain/ingest/enricher.js';
import { pointerOf } from '../../domain/ingest/field-path.js';
import type { Clock } from '../../ports/clock.js';
import { cloudEventOfRecord } from '../../domain/ingest/kafka-binding.js';
import { InvalidRecordError, type EventBus, type EventEnvelope, type InvalidRecord, type ReceivedEvent, type Subscription } from '../../ports/event-bus.js';
import { deadLetterEvent, type DeadLetter } from './dead-letter.js';
import { carrierOfHeaders } from '../../domain/trace-context.js';
import { EventUnmatchedError, type IngestPipeline } from './pipeline.js';

export interface ConsumerOptions {
  /** The dead-letter topic, prefix applied. */
  deadLetterTopic: string;
  /** The dead letters' `source` (the cluster). */
  source: string;
  /** Failures that stop nothing for good: a subscription that failed and is restarted, a dead letter lost. */
  onError: (err: unknown) => void;
  /** Told of every dead letter sent: for logs. */
  onDeadLetter?: (letter: DeadLetter) => void;
  /** First wait before subscribing again after a failure; doubles up to `maxRetryMs`. @defaultValue 1000 ms */
  retryMs?: number;
  /** @defaultValue 30000 ms */
  maxRetryMs?: number;
}

/**
 * The event consumer (seed 000): joins the ingest consumer group on the input topics and runs each
 * event through the pipeline. Every process with the scheduler role runs one; Kafka spreads the
 * topics' partitions over them.
 *
 * The bus commits an event's offset only after the handler resolved, and the handler resolves only
 * once the event's jobs are stored: a crash in between delivers the event again, and the
 * idempotency keys make that create nothing new. An event that cannot become jobs (no rule
 * matches, or it breaks one) is published to the dead-letter topic first, then committed, and the
 * next event follows. When the engine fails (store down) or the dead letter cannot be published,
 * the handler rejects: the subscription stops without committing that event, and is started again
 * after a backoff, which delivers it again.
 */
export class IngestConsumer {
  private subscription: Subscription | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly pipeline: IngestPipeline,
    private readonly clock: Clock,
    private readonly options: ConsumerOptions,
  ) {}

  /** Joins the group; rejects when the first subscription fails (a start-up error). */
  async start(): Promise<void> {
    await this.subscribe();
  }

  /** Leaves the group after the event in hand (its jobs stored, its offset committed). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.subscription?.close();
  }

  private async subscribe(): Promise<void> {
    const { topics, groupId } = this.pipeline.config;
    const sub = await this.bus.subscribe(topics, groupId, (r) => this.handle(r), { onInvalid: (r) => this.invalid(r), decode: (value, headers) => this.decode(value, headers) });
    if (this.stopped) {
      // stop() ran while a restart was joining the group.
      await sub.close();
      return;
    }
    this.subscription = sub;
    sub.done.then(
      () => {},
      (err: unknown) => this.restart(err),
    );
  }

  private restart(err: unknown): void {
    this.subscription = null;
    if (this.stopped) return;
    this.options.onError(err);
    const delay = Math.min(this.options.maxRetryMs ?? 30_000, (this.options.retryMs ?? 1000) * 2 ** this.failures++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.stopped) return;
      this.subscribe().then(
        () => (this.failures = 0),
        (e: unknown) => this.restart(e),
      );
    }, delay);
  }

  private async handle(received: ReceivedEvent): Promise<void> {
    try {
      await this.pipeline.ingest(received.event);
    } catch (err) {
      if (err instanceof EventUnmatchedError) {
        const errors = err.misses.map((m) => ({ path: pointerOf(m.path), message: `rule "${m.rule}": ${m.reason}` }));
        return this.deadLetter({ ...coordinates(received), reason: 'no-match', detail: err.message, errors, tenant: received.event.tenant, event: received.event, value: null });
      }
      if (err instanceof EventRuleError) {
        return this.deadLetter({ ...coordinates(received), reason: 'rule-broken', detail: err.message, errors: err.issues, tenant: received.event.tenant, event: received.event, value: null });
      }
      throw err;
    }
  }

  /** A record as a CloudEvent (structured or binary mode), checked as POST /v1/events checks one. */
  private decode(value: string | null, headers: ReadonlyMap<string, string>): EventEnvelope {
    const read = cloudEventOfRecord(value, headers, new Date(this.clock.now()).toISOString());
    if (read.ok) return withRecordTrace(read.event as EventEnvelope, headers);
    const problems = read.issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; ');
    throw new InvalidRecordError(`the record is not a valid CloudEvent: ${problems}`, read.issues, read.tenant);
  }

  /**
   * A record that is not a CloudEvent: dead-lettered before the bus moves past it, like an event
   * that fits no rule (at least once; a failed publish stops the subscription, which restarts),
   * with every problem found, under the tenant it named.
   */
  private invalid(record: InvalidRecord): Promise<void> {
    const known = record.error instanceof InvalidRecordError ? record.error : null;
    return this.deadLetter({
      ...coordinates(record),
      reason: 'invalid-record',
      detail: record.error.message,
      errors: known ? [...known.issues] : [],
      tenant: known?.tenant ?? null,
      event: null,
      value: record.value,
      headers: record.headers ?? {},
    });
  }

  private async deadLetter(letter: DeadLetter): Promise<void> {
    await this.bus.publish([deadLetterEvent(letter, this.options.deadLetterTopic, this.options.source, this.clock)]);
    this.options.onDeadLetter?.(letter);
  }
}

/**
 * The record's own W3C headers (`traceparent`, `tracestate`: what instrumented Kafka producers
 * send) over the event's tracing extension: the jobs join the trace that sent the record.
 */
function withRecordTrace(event: EventEnvelope, headers: ReadonlyMap<string, string>): EventEnvelope {
  const trace = carrierOfHeaders(headers);
  if (!trace) return event;
  const { tracestate: _, ...rest } = event;
  return { ...rest, traceparent: trace.traceparent, ...(trace.tracestate ? { tracestate: trace.tracestate } : {}) };
}

function coordinates(r: { topic: string; partition: number; offset: string; key: string | null }) {
  return { topic: r.topic, partition: r.partition, offset: r.offset, key: r.key };
}
