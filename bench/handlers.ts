/**
 * The handlers module of the benchmarks' Docket worker processes
 * (`docket server --role worker --handlers bench/dist/bench/handlers.js`).
 *
 * - `noop` does nothing (the drain); under the side-by-side suite it also reports its first
 *   start and its count (bench/signals.ts).
 * - `probe` tells the benchmark process that it started, from the handler's first line: under
 *   `--mode production`, one UDP datagram with the job id to 127.0.0.1:$DOCKET_BENCH_PROBE_PORT;
 *   under the suite, `p:<payload.k>` to $BENCH_SIGNAL_PORT.
 * - `mark` (the fairness scenario) does nothing; its start time is read from the store.
 * - `work` (the fairness scenario's weighted and pool shares) sleeps `payload.ms`, so that the
 *   workers stay saturated; its start time is read from the store.
 */
import { createSocket } from 'node:dgram';
import type { Handler } from '../src/sdk/worker.js';
import { SignalSender } from './signals.js';

const port = Number(process.env.DOCKET_BENCH_PROBE_PORT ?? 0);
const socket = port > 0 ? createSocket('udp4') : null;
socket?.unref();
const signals = new SignalSender();

export const queues = ['default'];

/** Sleeps `payload.ms`: a job that holds its slot for a while (the fairness scenario's shares). */
export const work: Handler = (job) => new Promise<void>((resolve) => setTimeout(resolve, (job.payload as { ms?: number } | null)?.ms ?? 0));

export const handlers: Record<string, Handler> = {
  noop: () => {
    signals.noop();
  },
  probe: (job) => {
    socket?.send(job.id, port, '127.0.0.1');
    const key = (job.payload as { k?: string } | null)?.k;
    if (key) signals.probe(key);
  },
  mark: () => {},
  work,
};
