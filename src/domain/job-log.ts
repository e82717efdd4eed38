import type { Json } from './job.js';

/**
 * Job logs (docs/logs.md): the lines a handler writes through `ctx.log`, kept per job and attempt.
 * Levels are pino's names and numbers, so a line reads the same in the worker's own output.
 */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
export type LogLevelName = keyof typeof LOG_LEVELS;
export const LOG_LEVEL_NAMES = Object.keys(LOG_LEVELS) as LogLevelName[];

/** A line as a worker reports it (no attempt: the server knows which attempt holds the lease). */
export interface ReportedLogLine {
  /** Epoch ms. */
  at: number;
  level: LogLevelName;
  message: string;
  /** The structured fields of the call (`log.info({ orderId }, 'paid')`), if any. */
  fields?: Record<string, Json>;
}

/** A line to store: one job's, one attempt's. */
export interface NewLogLine extends ReportedLogLine {
  jobId: string;
  attempt: number;
}

/** A stored line; `id` orders a job's lines and is the read cursor. */
export interface LogLine extends NewLogLine {
  id: number;
}

/**
 * Longest message and longest fields (JSON) one line keeps; the rest is cut, and says so. A log is
 * for reading: a line past 8 KiB is a payload written to the log by mistake.
 */
export const MAX_MESSAGE_CHARS = 8192;
export const MAX_FIELDS_CHARS = 8192;

/** Each job keeps this much log (message and fields, UTF-8) by default; older lines are dropped. */
export const DEFAULT_LOG_CAP_BYTES = 1024 * 1024;

/** The line as it is stored: over-long text cut, and its size counted toward the job's cap. */
export function storedLine(line: NewLogLine): { line: NewLogLine; fieldsJson: string | null; bytes: number } {
  const message = line.message.length > MAX_MESSAGE_CHARS ? `${line.message.slice(0, MAX_MESSAGE_CHARS)}… (cut at ${MAX_MESSAGE_CHARS} characters)` : line.message;
  let fieldsJson = line.fields && Object.keys(line.fields).length > 0 ? JSON.stringify(line.fields) : null;
  if (fieldsJson !== null && fieldsJson.length > MAX_FIELDS_CHARS) fieldsJson = JSON.stringify({ cut: `fields of ${fieldsJson.length} characters, over ${MAX_FIELDS_CHARS}` });
  const bytes = Buffer.byteLength(message) + (fieldsJson === null ? 0 : Buffer.byteLength(fieldsJson));
  return { line: { ...line, message }, fieldsJson, bytes };
}

/**
 * When a job's log passes its cap, its oldest lines are dropped down to this share of the cap, so
 * a job that keeps logging trims once per tenth of the cap rather than on every batch.
 */
export const TRIM_TO_SHARE = 0.9;

/** The line shown before a log whose oldest lines were dropped. */
export function droppedMarker(jobId: string, dropped: number, capBytes: number, at: number): LogLine {
  return {
    id: 0,
    jobId,
    attempt: 0,
    at,
    level: 'warn',
    message: `${dropped} earlier line${dropped === 1 ? ' was' : 's were'} dropped: a job keeps at most ${capBytes} bytes of log, its newest lines`,
  };
}

export function levelName(n: number): LogLevelName {
  return LOG_LEVEL_NAMES.find((name) => LOG_LEVELS[name] === n) ?? 'info';
}
