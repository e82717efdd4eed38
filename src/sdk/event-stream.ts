import { createParser } from 'eventsource-parser';
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
  const q = new URLSearchParams();
  if (options.lastEventId !== undefined) q.set('lastEventId', options.lastEventId);
  if (options.types?.length) q.set('types', options.types.join(','));
  if (options.topics?.length) q.set('topics', options.topics.join(','));
  if (options.jobId !== undefined) q.set('jobId', options.jobId);
  if (options.tenant !== undefined) q.set('tenant', options.tenant);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The envelopes of a `text/event-stream` body, as they arrive; ends with the body or the signal. */
export async function* readEventStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<EventEnvelope> {
  const pending: EventEnvelope[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(JSON.parse(message.data) as EventEnvelope) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
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
