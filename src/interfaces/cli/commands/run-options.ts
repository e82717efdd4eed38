import type { Concurrency } from '../../../sdk/pools.js';
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

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`docket: ${signal} received, shutting down`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error('docket: shutdown failed:', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
