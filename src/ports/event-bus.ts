import { v7 as uuidv7 } from 'uuid';
import { DocketError, type Issue } from '../domain/errors.js';
import type { Json } from '../domain/job.js';
import type { Clock } from './clock.js';

/**
 * Events out (job lifecycle, workers, dependencies) and business events in. Adapters: memory
 * (embedded mode, one process) and kafka (production). Both run `test/conformance/
 * event-bus-conformance.ts`.
 *
 * Delivery is at-least-once: a consumer group's position on a topic moves past an event only after
 * its handler resolved, so a crash or a failing handler means the event comes again; handlers must
 * be idempotent (the engine deduplicates by event id). Order is kept per (topic, key): events
 * published with the same key reach a group's handler in the order they were published.
 */
export interface EventBus {
  /**
   * Publishes `events` in array order and resolves once all are durable (Kafka: acknowledged by
   * all in-sync replicas, idempotent producer, so a retried send writes no duplicate). Every event is
   * validated first: one invalid event rejects the call with `InvalidEventError` and publishes none.
   * Concurrent calls keep per-key order in call order.
   */
  publish(events: readonly OutgoingEvent[]): Promise<void>;
  /**
   * As `publish`, for envelopes already encoded by Docket from its own log (the outbox relay):
   * each `value` must be `encodeEnvelope` of a valid envelope, and is sent as it is, without being
   * validated again (in a profile of the relay, checking each envelope took ~7% of its time).
   */
  publishEncoded(events: readonly EncodedEvent[]): Promise<void>;
  /**
   * Joins consumer group `groupId` on `topics` and calls `handler` for each event, one at a time, in
   * order per partition. Resolves once the subscription has its position (its first events may
   * still be on their way). Subscriptions of one group share the topics' partitions; different
   * groups each get every event.
   *
   * When `handler` rejects, the subscription stops: what was handled before is committed, the
   * failed event is not, and `done` rejects with `SubscriptionFailedError`. Subscribing the group
   * again (the caller's restart policy) delivers the failed event again.
   */
  subscribe(topics: readonly string[], groupId: string, handler: EventHandler, options?: SubscribeOptions): Promise<Subscription>;
  /** Closes every subscription (as `Subscription.close`) and the producer. Publishing afterwards rejects. */
  close(): Promise<void>;
}

/** The envelope's version: CloudEvents 1.0 attribute names, JSON ("structured") mode. */
export const EVENT_SPEC_VERSION = '1.0';

/**
 * One event on the wire, CloudEvents-style. A breaking change of `data` gets a new `type`
 * (`docket.job.succeeded` → `docket.job.succeeded.v2`) so consumers can tell versions apart.
 */
export interface EventEnvelope<D extends Json = Json> {
  specversion: typeof EVENT_SPEC_VERSION;
  /** Unique per event (UUIDv7); consumers deduplicate redeliveries by it. */
  id: string;
  /** Reverse-DNS style, e.g. `docket.job.succeeded`. */
  type: string;
  /** Who emitted it, e.g. `/docket/node-1` or `urn:acme:billing`. */
  source: string;
  /** When it happened, RFC 3339 in UTC (`2026-01-01T00:00:00.000Z`). */
  time: string;
  tenant: string;
  /** Correlates everything born of one request or event; null when there is none. */
  linkId: string | null;
  /** What the event is about, e.g. a job id. */
  subject?: string;
  /**
   * CloudEvents Distributed Tracing extension: the W3C trace context of the event's producer. On
   * ingestion the jobs the event makes join that trace (docs/tracing.md); the Kafka consumer sets
   * it from a record's `traceparent`/`tracestate` headers.
   */
  traceparent?: string;
  tracestate?: string;
  data: D;
}

export interface OutgoingEvent {
  topic: string;
  /** Partition key: order is kept among events of one topic with the same key (e.g. the job id). */
  key: string;
  event: EventEnvelope;
}

/** An outgoing event whose envelope is already its wire form (`encodeEnvelope`'s output). */
export interface EncodedEvent {
  topic: string;
  key: string;
  value: string;
}

export interface ReceivedEvent {
  topic: string;
  partition: number;
  /** Position in the partition, as a decimal string (Kafka offsets are 64-bit). */
  offset: string;
  key: string | null;
  event: EventEnvelope;
}

export type EventHandler = (received: ReceivedEvent) => Promise<void>;

/** A record on a subscribed topic that is not a valid envelope (another producer's garbage). */
export interface InvalidRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  /** The record's headers (binary-mode CloudEvents carry their attributes there). */
  headers?: Record<string, string>;
  error: InvalidEventError;
}

export interface SubscribeOptions {
  /**
   * Where a group with no committed position starts. `earliest` (default): every event still
   * retained, so nothing published before the group's first subscription is missed. `latest`:
   * only events published after `subscribe` resolved.
   */
  start?: 'earliest' | 'latest';
  /**
   * Called for each record that is not a valid envelope (e.g. to dead-letter it); the record is
   * then skipped, because blocking a partition on a record that can never be handled would stall it
   * for good. Awaited like a handler: the record counts as handled once it resolves, and when it
   * rejects the subscription stops uncommitted (so the record comes again). Default: skip silently.
   */
  onInvalid?: (record: InvalidRecord) => void | Promise<void>;
  /**
   * Reads a record as an event instead of the default (`decodeEnvelope` of its value: Docket's own
   * events), with the record's headers; throws `InvalidEventError` for a record that is none. The
   * ingest consumer reads CloudEvents in both Kafka modes (structured and binary) this way.
   * Adapters without a wire format (memory) deliver published envelopes as they are.
   */
  decode?: (value: string | null, headers: ReadonlyMap<string, string>) => EventEnvelope;
}

export interface Subscription {
  /**
   * Settles when the subscription has stopped: resolves after `close()`, rejects with
   * `SubscriptionFailedError` when the handler rejected or the connection to the bus failed.
   */
  readonly done: Promise<void>;
  /**
   * Stops delivery: waits for the handler call in progress, commits what was handled, leaves the
   * group (its partitions go to the group's other members). Idempotent.
   */
  close(): Promise<void>;
}

/** An event that breaks the envelope's rules: says which field and why. Nothing was published. */
export class InvalidEventError extends DocketError {
  constructor(message: string) {
    super('invalid_event', message);
  }
}

/** A record that is no event, with every problem found and the tenant it named (null if none). */
export class InvalidRecordError extends InvalidEventError {
  constructor(
    message: string,
    readonly issues: readonly Issue[],
    readonly tenant: string | null,
  ) {
    super(message);
  }
}

/** A subscription stopped because its handler rejected or the bus failed; `cause` says which. */
export class SubscriptionFailedError extends DocketError {
  constructor(
    readonly groupId: string,
    readonly topics: readonly string[],
    cause: unknown,
  ) {
    super('subscription_failed', `subscription of group "${groupId}" to ${topics.join(', ')} stopped: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.cause = cause;
  }
}

export class EventBusClosedError extends DocketError {
  constructor() {
    super('event_bus_closed', 'the event bus is closed');
  }
}

export interface NewEvent<D extends Json = Json> {
  type: string;
  source: string;
  tenant: string;
  linkId?: string | null;
  subject?: string;
  data: D;
}

/** A new envelope with a fresh UUIDv7 id, stamped with the clock's time. */
export function createEvent<D extends Json>(input: NewEvent<D>, clock: Clock): EventEnvelope<D> {
  const event: EventEnvelope<D> = {
    specversion: EVENT_SPEC_VERSION,
    id: uuidv7(),
    type: input.type,
    source: input.source,
    time: new Date(clock.now()).toISOString(),
    tenant: input.tenant,
    linkId: input.linkId ?? null,
    data: input.data,
  };
  if (input.subject !== undefined) event.subject = input.subject;
  return event;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks one outgoing event; throws `InvalidEventError` naming the field. */
export function validateOutgoing(out: OutgoingEvent, index = 0): void {
  const where = `events[${index}]`;
  if (typeof out.topic !== 'string' || !TOPIC.test(out.topic)) {
    throw new InvalidEventError(`${where}.topic: ${JSON.stringify(out.topic)} is not a topic name (1-249 of A-Z a-z 0-9 . _ -)`);
  }
  if (typeof out.key !== 'string' || out.key.length === 0) throw new InvalidEventError(`${where}.key: must be a non-empty string`);
  const problem = envelopeProblem(out.event);
  if (problem) throw new InvalidEventError(`${where}.event${problem}`);
}

/** Serializes an envelope (already validated) to its wire form. */
export function encodeEnvelope(event: EventEnvelope): string {
  return JSON.stringify(event);
}

/** Parses a record's value; throws `InvalidEventError` when it is not a valid envelope. */
export function decodeEnvelope(text: string | null | undefined): EventEnvelope {
  if (text === null || text === undefined) throw new InvalidEventError('the record has no value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidEventError(`the value is not JSON: ${(err as Error).message}`);
  }
  const problem = envelopeProblem(parsed);
  if (problem) throw new InvalidEventError(`the value is not an event envelope: ${problem.replace(/^\./, '')}`);
  return parsed as EventEnvelope;
}

/** What is wrong with `e` as an envelope (`.field: reason`), or null. */
function envelopeProblem(e: unknown): string | null {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return ': must be an object';
  const r = e as Record<string, unknown>;
  if (r.specversion !== EVENT_SPEC_VERSION) return `.specversion: must be "${EVENT_SPEC_VERSION}", got ${JSON.stringify(r.specversion)}`;
  for (const field of ['id', 'type', 'source', 'tenant'] as const) {
    if (typeof r[field] !== 'string' || (r[field] as string).length === 0) return `.${field}: must be a non-empty string`;
  }
  if (typeof r.time !== 'string' || !RFC3339.test(r.time) || Number.isNaN(Date.parse(r.time))) return '.time: must be an RFC 3339 timestamp';
  if (r.linkId !== null && typeof r.linkId !== 'string') return '.linkId: must be a string or null';
  if (r.subject !== undefined && typeof r.subject !== 'string') return '.subject: must be a string when present';
  if (!('data' in r) || r.data === undefined) return '.data: is missing';
  if (!isJson(r.data)) return '.data: must be JSON (no undefined, functions, NaN, Infinity, bigint or class instances)';
  return null;
}

function isJson(v: unknown, depth = 0): boolean {
  if (depth > 100) return false;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJson(x, depth + 1));
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.values(v as Record<string, unknown>).every((x) => isJson(x, depth + 1));
  }
  return false;
}
