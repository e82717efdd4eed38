import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, createTraceState, isSpanContextValid, trace, type Attributes, type Context, type Span, type SpanContext, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent, type TraceCarrier } from '../domain/trace-context.js';

/**
 * Docket's spans, named and attributed by the OpenTelemetry semantic conventions for messaging
 * (docs/tracing.md): a producer span per job at submit (`send <queue>`), a consumer span per
 * attempt (`process <queue>`) around the handler. Only `@opentelemetry/api` is used: with no SDK
 * registered every span is a no-op and the caller's context is passed on unchanged.
 */
let provider: TracerProvider | null = null;
let cached: Tracer | null = null;

/**
 * Docket's tracer, fetched again when the global provider changes (trace.disable() and a new SDK,
 * as a test or a host restarting its SDK does): a tracer kept from the first provider would keep
 * sending spans to it after it was shut down.
 */
function tracer(): Tracer {
  const current = trace.getTracerProvider();
  if (current !== provider || !cached) {
    provider = current;
    cached = current.getTracer('docket');
  }
  return cached;
}

export const MESSAGING_SYSTEM = 'docket';

/** The context a carrier describes (a remote parent), on top of `base`; `base` when there is none. */
export function contextOfCarrier(c: TraceCarrier | null | undefined, base: Context = ROOT_CONTEXT): Context {
  const p = c ? parseTraceparent(c.traceparent) : null;
  if (!p) return base;
  return trace.setSpanContext(base, {
    traceId: p.traceId,
    spanId: p.spanId,
    traceFlags: p.flags,
    isRemote: true,
    ...(c!.tracestate ? { traceState: createTraceState(c!.tracestate) } : {}),
  });
}

/** The W3C headers of a span's context; null for an invalid one (no SDK, no parent). */
export function carrierOfSpan(span: Span): TraceCarrier | null {
  return carrierOfSpanContext(span.spanContext());
}

function carrierOfSpanContext(sc: SpanContext | undefined): TraceCarrier | null {
  if (!sc || !isSpanContextValid(sc)) return null;
  const tracestate = sc.traceState?.serialize();
  return { traceparent: formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, flags: sc.traceFlags }), ...(tracestate ? { tracestate } : {}) };
}

/** The W3C headers of the active context (the caller's span), for an outgoing request; empty when there is none. */
export function activeCarrier(): Partial<TraceCarrier> {
  return carrierOfSpanContext(trace.getSpanContext(context.active())) ?? {};
}

/** What a producer span describes: one job about to be stored. */
export interface Sent {
  id: string;
  queue: string;
  type: string;
  tenant: string;
  linkId: string;
}

export interface Sending {
  /** Per job, the context to store with it: its producer span's, or the caller's when tracing is off. */
  carriers: (TraceCarrier | null)[];
  /** Ends the spans; with the insert's error when it failed. */
  end(err?: unknown): void;
}

const NOTHING_SENT: Sending = { carriers: [], end: () => {} };

/**
 * Producer spans for jobs about to be inserted, children of `parent` (the submit's headers or a
 * Kafka record's), else of the active context (an in-process submit inside the caller's span).
 */
export function startSending(jobs: readonly Sent[], parent: TraceCarrier | null | undefined): Sending {
  if (jobs.length === 0) return NOTHING_SENT;
  const ctx = parent ? contextOfCarrier(parent) : context.active();
  const spans: Span[] = [];
  const carriers: (TraceCarrier | null)[] = [];
  for (const job of jobs) {
    const span = tracer().startSpan(`send ${job.queue}`, { kind: SpanKind.PRODUCER }, ctx);
    if (spans.length === 0 && !span.isRecording() && !isSpanContextValid(span.spanContext())) {
      // No SDK and no caller's context: nothing to carry, for any of the jobs.
      return { carriers: jobs.map(() => null), end: () => {} };
    }
    if (span.isRecording()) span.setAttributes({ ...messaging('send', job.queue, job.id, job.linkId), 'docket.job.type': job.type, 'docket.tenant': job.tenant });
    spans.push(span);
    carriers.push(carrierOfSpan(span));
  }
  return {
    carriers,
    end(err?: unknown) {
      for (const span of spans) {
        if (err !== undefined) failSpan(span, err);
        span.end();
      }
    },
  };
}

/** The job an attempt runs, as the worker holds it. */
export interface AttemptJob {
  id: string;
  queue: string;
  type: string;
  tenant: string;
  linkId: string;
  attempt: number;
  maxAttempts: number;
  runAt: number;
  startedAt: number | null;
  traceContext?: TraceCarrier;
}

/** How an attempt ended, as `docket.job.outcome` says it. */
export type AttemptOutcome =
  | 'succeeded' | 'retrying' | 'blocked' | 'failed' | 'expired'
  /** The failure was recorded, but the transport did not say what became of the job. */
  | 'error'
  | 'cancelled' | 'lease_lost' | 'timeout' | 'released'
  /** The server refused the outcome (the lease was no longer this worker's), or it could not be sent. */
  | 'not_recorded';

/** One attempt's process span; every method is a no-op when tracing is off. */
export interface Attempt {
  /** The context the handler runs in (its own spans and outgoing calls join the trace); null when not recording. */
  readonly context: Context | null;
  /** Runs `fn` (the handler) inside the span: the handler's own spans and outgoing calls join the trace. */
  run<T>(fn: () => T): T;
  event(name: string, attributes?: Attributes): void;
  /** Records the handler's error (exception event, error status). */
  error(err: unknown, code?: string): void;
  end(outcome: AttemptOutcome): void;
}

const NO_ATTEMPT: Attempt = { context: null, run: (fn) => fn(), event: () => {}, error: () => {}, end: () => {} };

/**
 * The consumer span of one attempt, a child of the job's stored context (and linked to it, as the
 * conventions ask of a process span), in whatever process runs the handler.
 */
export function startAttempt(job: AttemptJob, workerId: string, now: number): Attempt {
  const parent = job.traceContext ? contextOfCarrier(job.traceContext) : ROOT_CONTEXT;
  const link = job.traceContext ? trace.getSpanContext(parent) : undefined;
  const span = tracer().startSpan(`process ${job.queue}`, { kind: SpanKind.CONSUMER, ...(link ? { links: [{ context: link }] } : {}) }, parent);
  if (!span.isRecording()) return NO_ATTEMPT;
  span.setAttributes({
    ...messaging('process', job.queue, job.id, job.linkId),
    'docket.job.type': job.type,
    'docket.tenant': job.tenant,
    'docket.job.attempt': job.attempt,
    'docket.job.max_attempts': job.maxAttempts,
    'docket.job.wait_ms': Math.max(0, (job.startedAt ?? now) - job.runAt),
    'docket.worker.id': workerId,
  });
  let ended = false;
  const ctx = trace.setSpan(parent, span);
  return {
    context: ctx,
    run: (fn) => context.with(ctx, fn),
    event: (name, attributes) => span.addEvent(name, attributes),
    error: (err, code) => {
      failSpan(span, err);
      if (code) span.setAttribute('error.type', code);
    },
    end(outcome) {
      if (ended) return;
      ended = true;
      span.setAttribute('docket.job.outcome', outcome);
      span.end();
    },
  };
}

/**
 * A running job the server took back because its worker stopped heartbeating (the lease reaper, the
 * worker monitor): the worker's own span of that attempt never ends, so the server records it in
 * the job's trace, as a short `requeue <queue>` span with a `docket.job.lease_lost` event.
 */
export function recordLeaseLost(job: AttemptJob & { workerId: string | null }, reason: string, to: 'ready' | 'failed'): void {
  if (!job.traceContext) return;
  const span = tracer().startSpan(`requeue ${job.queue}`, { kind: SpanKind.INTERNAL }, contextOfCarrier(job.traceContext));
  if (!span.isRecording()) return void span.end();
  span.setAttributes({
    ...messaging('settle', job.queue, job.id, job.linkId),
    'docket.job.type': job.type,
    'docket.tenant': job.tenant,
    'docket.job.attempt': job.attempt,
    'docket.job.max_attempts': job.maxAttempts,
    'docket.job.outcome': to === 'ready' ? 'lease_lost' : 'failed',
    ...(job.workerId ? { 'docket.worker.id': job.workerId } : {}),
  });
  span.addEvent('docket.job.lease_lost', { 'docket.reason': reason, 'docket.job.state': to });
  span.end();
}

function messaging(operation: 'send' | 'process' | 'settle', queue: string, id: string, linkId: string): Attributes {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    // The attribute's name before semantic conventions 1.26, which some backends still read.
    'messaging.operation': operation,
    'messaging.destination.name': queue,
    'messaging.message.id': id,
    'messaging.message.conversation_id': linkId,
  };
}

function failSpan(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(typeof err === 'object' && err && 'message' in err ? (err as { message: unknown }).message : err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  span.setAttribute('error.type', (err as { code?: unknown })?.code && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : e.name);
}
