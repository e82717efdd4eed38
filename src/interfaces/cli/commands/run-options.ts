import type { Logger } from 'pino';
import type { Concurrency } from '../../../sdk/pools.js';
import type { Worker } from '../../../sdk/worker.js';
import { CliError, EXIT } from '../output.js';

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
 * Logs each failed attempt of a worker's jobs: a warning while attempts are left (it retries), an
 * error when it was the last (the job is a dead letter unless its policy parks it).
 */
export function logJobFailures(worker: Worker, log: Logger): void {
  worker.on('failed', (job, failure) => {
    const last = job.attempt >= job.maxAttempts || failure.retryable === false;
    const fields = { jobId: job.id, type: job.type, queue: job.queue, attempt: job.attempt, maxAttempts: job.maxAttempts, error: failure.message };
    if (last) log.error(fields, 'job failed on its last attempt');
    else log.warn(fields, 'job attempt failed; it will be retried');
  });
}
