import type { Logger } from 'pino';
import type { Concurrency } from '../../../sdk/pools.js';
import type { Worker } from '../../../sdk/worker.js';
import { loadHandlers, type HandlersModule } from '../../../sdk/handlers-module.js';
import { CliError, EXIT } from '../output.js';

/**
 * The handlers module of --handlers (or DOCKET_HANDLERS). One that cannot be loaded or has the
 * wrong shape is the user's to fix: its message (which names the module and what is wrong) and
 * exit 2, not a stack trace.
 */
export async function handlersOf(path: string): Promise<HandlersModule> {
  try {
    return await loadHandlers(path);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage);
  }
}

/** `--concurrency 20` or `--concurrency '{"1-3":16,"4-7":6,"8-10":2}'`. */
export function parseConcurrency(raw: string): Concurrency {
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  try {
    const pools = JSON.parse(raw);
    if (pools && typeof pools === 'object' && !Array.isArray(pools)) return pools as Record<string, number>;
  } catch {
    // fall through to the message below
  }
  throw new CliError(`--concurrency ${raw}: give a number of slots or JSON pools like '{"1-3":16,"4-7":6,"8-10":2}'`, EXIT.usage);
}

export function parseQueues(raw: string): string[] {
  return raw
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
}

/**
 * Runs `stop` once on SIGINT or SIGTERM, then exits; `waitsFor` says in the log what the stop
 * waits for (running jobs, connections), so a slow shutdown is not a silent one.
 */
export function onShutdown(log: Logger, waitsFor: () => string, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    log.info({ signal }, `${signal} received, shutting down: ${waitsFor()}`);
    stop().then(
      () => {
        log.info({ ms: Date.now() - started }, 'shut down');
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/**
 * Logs each failed attempt of a worker's jobs at warn, with the handler's error. A job that fails
 * for good is logged at error by the engine that records it (app/engine-log.ts: "job
 * dead-lettered"), whichever worker ran it; this line only says what the worker saw.
 */
export function logJobFailures(worker: Worker, log: Logger): void {
  worker.on('failed', (job, failure) => {
    const last = job.attempt >= job.maxAttempts || failure.retryable === false;
    const fields = { jobId: job.id, type: job.type, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts, error: failure.message };
    log.warn(fields, last ? 'job attempt failed; it was its last (unless a recovery policy parks it)' : 'job attempt failed; it will be retried');
  });
}
