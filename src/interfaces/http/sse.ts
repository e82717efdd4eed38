import type { ServerResponse } from 'node:http';

const POLL_MS = 250;
const KEEP_ALIVE_MS = 15_000;

/** What a stream does each round: `more` (read again at once), `wait` (until a nudge or 250 ms), `done` (end it). */
export type SseStep = (write: (chunk: string) => void) => Promise<'more' | 'wait' | 'done'>;

export interface SseOptions {
  /** The opening comment line (after `: `). */
  comment: string;
  /** Ends the stream when the server closes. */
  closing: AbortSignal;
  /** Subscribes a nudge (new data here): the stream reads at once instead of at its next poll. Returns an unsubscribe. */
  onNudge?: (nudge: () => void) => () => void;
  onError: (err: unknown) => void;
}

/**
 * A Server-Sent Events response on `out`: headers, then `step` round after round until it is done,
 * the client goes away or the server closes; a comment line keeps an idle connection open through
 * proxies. The event streams (events, job logs) differ only in their step.
 */
export async function serveSse(out: ServerResponse, options: SseOptions, step: SseStep): Promise<void> {
  out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  out.write(`retry: 2000\n: ${options.comment}\n\n`);
  let wake: (() => void) | null = null;
  const stopNudges = options.onNudge?.(() => wake?.());
  let open = true;
  const stop = () => {
    open = false;
    wake?.();
  };
  out.on('close', stop);
  options.closing.addEventListener('abort', stop);
  let idleSince = Date.now();
  const write = (chunk: string) => {
    out.write(chunk);
    idleSince = Date.now();
  };
  try {
    while (open) {
      const next = await step(write);
      if (next === 'done') break;
      if (next === 'more') continue;
      if (Date.now() - idleSince > KEEP_ALIVE_MS) write(': keep-alive\n\n');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } catch (err) {
    options.onError(err);
  } finally {
    stopNudges?.();
    options.closing.removeEventListener('abort', stop);
    out.end();
  }
}
