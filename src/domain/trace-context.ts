/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as Docket carries it with a job: the
 * `traceparent` and `tracestate` of the context that submitted it. Parsed and checked here without
 * any OpenTelemetry package, so a job keeps its caller's context whether or not tracing is on.
 */
export interface TraceCarrier {
  /** `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>` */
  traceparent: string;
  /** Vendor entries (`key=value,...`), passed on as received; absent when none. */
  tracestate?: string;
}

// Version 00 exactly, or a later version (which may append fields after a dash): the spec asks a
// parser to read the first four fields of a version it does not know.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** The spec's limit: 32 list members; 512 characters is the length it says may be truncated to. */
const MAX_TRACESTATE = 512;

export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  /** 1 when the caller sampled the trace. */
  flags: number;
}

/** The fields of a valid traceparent; null for anything else (the spec: ignore it, start a new trace). */
export function parseTraceparent(value: string): ParsedTraceparent | null {
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return null;
  return { traceId: traceId!, spanId: spanId!, flags: parseInt(flags!, 16) };
}

export function formatTraceparent(p: ParsedTraceparent): string {
  return `00-${p.traceId}-${p.spanId}-${(p.flags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * The carrier of request or record headers (names in any case; a repeated header counts once, as
 * Node joins it): null when there is no valid `traceparent`. `tracestate` is kept only with one.
 */
export function carrierOfHeaders(headers: Readonly<Record<string, string | string[] | undefined>> | ReadonlyMap<string, string>): TraceCarrier | null {
  const get = (name: string): string | undefined => {
    if (headers instanceof Map) {
      for (const [k, v] of headers) if (k.toLowerCase() === name) return v;
      return undefined;
    }
    const raw = (headers as Record<string, string | string[] | undefined>)[name];
    return Array.isArray(raw) ? raw.join(',') : raw;
  };
  return carrierOf(get('traceparent'), get('tracestate'));
}

/** A carrier of these two values when `traceparent` is valid, normalized; else null. */
export function carrierOf(traceparent: unknown, tracestate: unknown): TraceCarrier | null {
  const parsed = typeof traceparent === 'string' ? parseTraceparent(traceparent) : null;
  if (!parsed) return null;
  const state = typeof tracestate === 'string' ? tracestate.trim() : '';
  return { traceparent: formatTraceparent(parsed), ...(state && state.length <= MAX_TRACESTATE ? { tracestate: state } : {}) };
}

/** As stored in the job's `trace_context` column (JSON text), and back. */
export function carrierText(c: TraceCarrier | null | undefined): string | null {
  return c ? JSON.stringify(c) : null;
}

export function carrierFromText(text: string | null | undefined): TraceCarrier | undefined {
  if (!text) return undefined;
  const v = JSON.parse(text) as { traceparent?: unknown; tracestate?: unknown };
  return carrierOf(v.traceparent, v.tracestate) ?? undefined;
}
