import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { EventEnvelope } from '../ports/event-bus.js';

export interface StreamOptions {
  /** Resume after this event id (the `id` of the last event received). */
  lastEventId?: string;
  /** Only these event types, e.g. `['docket.job.succeeded', 'docket.job.failed']`. */
  types?: readonly string[];
  /** Only these topics: job-events, worker-events, dependency-events. */
  topics?: readonly string[];
  /** Only the events of this job. */
  jobId?: string;
  /** Admins: one tenant's events. */
  tenant?: string;
  /** Stops the stream (the iteration ends). */
  signal?: AbortSignal;
}

/** The query string of `GET /v1/events/stream` for `options`. */
export function streamQuery(options: StreamOptions): string {
  return queryString({
    lastEventId: options.lastEventId,
    types: options.types?.length ? options.types.join(',') : undefined,
    topics: options.topics?.length ? options.topics.join(',') : undefined,
    jobId: options.jobId,
    tenant: options.tenant,
  });
}

/** `?a=1&b=x` of the defined values, or '' when there are none. */
export function queryString(values: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The envelopes of a `text/event-stream` body, as they arrive; ends with the body or the signal. */
export function readEventStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<EventEnvelope> {
  return readSse(body, (message) => JSON.parse(message.data) as EventEnvelope, signal);
}

/** Says that a stream is over (its `end` event), from a readSse mapper. */
export const END = Symbol('end of stream');

/**
 * The messages of a `text/event-stream` body as they arrive, each through `take` (undefined: skip
 * it; END: the stream is over); ends with the body, END or the signal.
 */
export async function* readSse<T>(body: ReadableStream<Uint8Array>, take: (message: EventSourceMessage) => T | undefined | typeof END, signal?: AbortSignal): AsyncGenerator<T> {
  const pending: T[] = [];
  let ended = false;
  const parser = createParser({
    onEvent: (message) => {
      const item = take(message);
      if (item === END) ended = true;
      else if (item !== undefined) pending.push(item);
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    while (!ended) {
      const { done, value } = await reader.read().catch((err: unknown) => {
        if (signal?.aborted) return { done: true as const, value: undefined };
        throw err;
      });
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      while (pending.length > 0) yield pending.shift()!;
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
    cancel();
  }
}
