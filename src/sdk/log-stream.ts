import type { Static } from '@sinclair/typebox';
import { createParser } from 'eventsource-parser';
import type { LogLevelName } from '../domain/job-log.js';
import type { LogLineView, LogPageReply } from '../interfaces/http/log-schemas.js';

export type LogLineInfo = Static<typeof LogLineView>;
export type LogPageInfo = Static<typeof LogPageReply>;

export interface LogOptions {
  /** Lines after this line id (`nextCursor` of the previous page). */
  cursor?: string;
  /** Only this attempt's lines. */
  attempt?: number;
  /** Only lines at this level or above. */
  level?: LogLevelName;
  /** Page size, 1 to 1000. @defaultValue 200 */
  limit?: number;
}

/** The query string of the log routes for `options`. */
export function logQuery(options: LogOptions): string {
  const q = new URLSearchParams();
  if (options.cursor !== undefined) q.set('cursor', options.cursor);
  if (options.attempt !== undefined) q.set('attempt', String(options.attempt));
  if (options.level !== undefined) q.set('level', options.level);
  if (options.limit !== undefined) q.set('limit', String(options.limit));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The lines of a `GET /v1/jobs/:id/logs/stream` body as they arrive; ends at its `end` event, the body's end or the signal. */
export async function* readLogStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<LogLineInfo> {
  const pending: LogLineInfo[] = [];
  let ended = false;
  const parser = createParser({
    onEvent: (message) => {
      if (message.event === 'end') ended = true;
      else if (message.event === 'log') pending.push(JSON.parse(message.data) as LogLineInfo);
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
