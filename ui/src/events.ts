// Live updates: the SSE stream GET /v1/events/stream read with fetch(), because EventSource cannot
// send the Authorization header. Reconnects by itself and resumes with Last-Event-ID, so no event
// is missed across a dropped connection (the server keeps 24 h of events).
import { createParser } from 'eventsource-parser';
import { ApiError, type Problem } from './api';
import { session } from './session';
import type { DocketEvent } from './types';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/**
 * Reads one stream until `signal` aborts: `onEvent` for each event, `onStatus` as the connection
 * comes and goes. A refusal (401, 403: the token may not read events) stops it with `onProblem`.
 */
export async function readStream(
  path: string,
  handlers: { onEvent: (e: DocketEvent) => void; onStatus?: (s: LiveStatus) => void; onProblem?: (p: Problem) => void },
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | undefined;
  let delay = 500;
  while (!signal.aborted) {
    handlers.onStatus?.('connecting');
    try {
      const s = session();
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (s) headers.authorization = `Bearer ${s.token}`;
      if (lastId) headers['last-event-id'] = lastId;
      const res = await fetch(path, { headers, signal, cache: 'no-store' });
      if (!res.ok || !res.body) {
        const p = (await res.json().catch(() => ({}))) as Partial<Problem>;
        const problem: Problem = { title: p.title ?? res.statusText, status: res.status, detail: p.detail ?? `HTTP ${res.status}` };
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          handlers.onStatus?.('offline');
          handlers.onProblem?.(problem);
          return;
        }
        throw new ApiError(problem);
      }
      handlers.onStatus?.('live');
      delay = 500;
      const parser = createParser({
        onEvent(message) {
          if (message.id) lastId = message.id;
          try {
            handlers.onEvent(JSON.parse(message.data) as DocketEvent);
          } catch {
            /* a malformed event is skipped, the stream goes on */
          }
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      if (signal.aborted) return;
    }
    handlers.onStatus?.('offline');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

// ---- the dashboard's one shared stream ----------------------------------------------------------

const listeners = new Set<(e: DocketEvent) => void>();
const statusListeners = new Set<(s: LiveStatus) => void>();
let status: LiveStatus = 'offline';
let controller: AbortController | null = null;

/** Opens the shared stream (after sign-in); closes the previous one. */
export function startLive(): void {
  stopLive();
  controller = new AbortController();
  void readStream('/v1/events/stream', { onEvent: (e) => listeners.forEach((l) => l(e)), onStatus: setStatus }, controller.signal);
}

export function stopLive(): void {
  controller?.abort();
  controller = null;
  setStatus('offline');
}

function setStatus(s: LiveStatus) {
  status = s;
  statusListeners.forEach((l) => l(s));
}

export function liveStatus(): LiveStatus {
  return status;
}

export function onLiveStatus(listener: (s: LiveStatus) => void): () => void {
  statusListeners.add(listener);
  return () => statusListeners.delete(listener);
}

export function onEvent(listener: (e: DocketEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
