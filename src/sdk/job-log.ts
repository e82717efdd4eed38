import { format } from 'node:util';
import type { Logger } from 'pino';
import { LOG_LEVEL_NAMES, LOG_LEVELS, type LogLevelName, type ReportedLogLine } from '../domain/job-log.js';
import type { Json } from '../domain/job.js';
import type { Clock, TimerHandle } from '../ports/clock.js';

const LEVELS: ReadonlySet<string> = new Set(LOG_LEVEL_NAMES);

/**
 * `ctx.log` of a handler: the worker's logger (lines still go to its output, at its own level) that
 * also hands each line at `keepFrom` or above to `record` as a job log line, whatever the output's
 * level. Made on first use of ctx.log: a handler that never logs pays nothing for it.
 */
export function capturingLogger(target: Logger, keepFrom: LogLevelName, record: (line: ReportedLogLine) => void, now: () => number, bound: Record<string, unknown> = {}): Logger {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'string' && LEVELS.has(prop)) {
        const level = prop as LogLevelName;
        return (...args: unknown[]) => {
          if (LOG_LEVELS[level] >= LOG_LEVELS[keepFrom]) record(lineOf(level, args, now(), bound));
          return (t[level] as (...a: unknown[]) => void)(...args);
        };
      }
      if (prop === 'child') {
        return (bindings: Record<string, unknown>, options?: object) => capturingLogger(t.child(bindings, options), keepFrom, record, now, { ...bound, ...bindings });
      }
      return Reflect.get(t, prop, receiver) as unknown;
    },
  });
}

/** pino's call shapes: `(obj, msg?, ...args)`, `(err, msg?)`, `(msg, ...args)`. */
function lineOf(level: LogLevelName, args: unknown[], at: number, bound: Record<string, unknown>): ReportedLogLine {
  const [first, ...rest] = args;
  let message: string;
  let fields: Record<string, unknown> = { ...bound };
  if (first instanceof Error) {
    fields.err = errorFields(first);
    message = rest.length > 0 ? format(...rest) : first.message;
  } else if (first !== null && typeof first === 'object') {
    fields = { ...fields, ...(first as Record<string, unknown>) };
    if (fields.err instanceof Error) fields.err = errorFields(fields.err);
    message = rest.length > 0 ? format(...rest) : typeof fields.msg === 'string' ? fields.msg : '';
  } else {
    message = format(first, ...rest);
  }
  const json = toJson(fields);
  return { at, level, message, ...(json ? { fields: json } : {}) };
}

function errorFields(err: Error): Record<string, unknown> {
  return { type: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}

function toJson(fields: Record<string, unknown>): Record<string, Json> | undefined {
  if (Object.keys(fields).length === 0) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<string, Json>;
  } catch {
    return { unserializable: 'the fields could not be written as JSON (a cycle?)' };
  }
}

export interface LogBufferOptions {
  /** Sends a batch; rejections are reported through `onError` and the batch is lost. */
  send: (lines: ReportedLogLine[]) => Promise<unknown>;
  clock: Clock;
  onError: (err: unknown) => void;
  /** A line waits at most this long before it is sent (what a live follower sees). @defaultValue 200 ms */
  flushMs?: number;
  /** A batch is sent at once when it has this many lines. @defaultValue 100 */
  maxLines?: number;
  /** Lines waiting beyond this many (a handler logging faster than they can be sent) are dropped, and counted. @defaultValue 10 000 */
  maxPending?: number;
}

/** One attempt's lines on their way to the server: in batches, in order, one batch in flight. */
export class LogBuffer {
  private lines: ReportedLogLine[] = [];
  private timer: TimerHandle | null = null;
  private sending: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private dropped = 0;

  constructor(private readonly options: LogBufferOptions) {}

  push(line: ReportedLogLine): void {
    if (this.inFlight + this.lines.length >= (this.options.maxPending ?? 10_000)) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      this.lines.push({ at: line.at, level: 'warn', message: `${this.dropped} lines dropped by the worker: the handler logged faster than they could be sent` });
      this.dropped = 0;
    }
    this.lines.push(line);
    if (this.lines.length >= (this.options.maxLines ?? 100)) void this.flush();
    else this.timer ??= this.options.clock.setTimer(() => void this.flush(), this.options.flushMs ?? 200);
  }

  /** Sends what waits; resolves when everything pushed so far was sent (or failed). */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    if (this.lines.length === 0) return this.sending;
    const batch = this.lines;
    this.lines = [];
    this.inFlight += batch.length;
    this.sending = this.sending
      .then(() => this.options.send(batch))
      .then(
        () => undefined,
        (err: unknown) => this.options.onError(err),
      )
      .finally(() => (this.inFlight -= batch.length));
    return this.sending;
  }
}
