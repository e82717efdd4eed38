import type { Static } from '@sinclair/typebox';
import type { LogLevelName } from '../domain/job-log.js';
import type { LogLineView, LogPageReply } from '../interfaces/http/log-schemas.js';
import { END, queryString, readSse } from './event-stream.js';

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
  return queryString({ cursor: options.cursor, attempt: options.attempt, level: options.level, limit: options.limit });
}

/** The lines of a `GET /v1/jobs/:id/logs/stream` body as they arrive; ends at its `end` event, the body's end or the signal. */
export function readLogStream(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<LogLineInfo> {
  return readSse(body, (m) => (m.event === 'end' ? END : m.event === 'log' ? (JSON.parse(m.data) as LogLineInfo) : undefined), signal);
}
