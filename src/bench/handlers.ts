/**
 * The handlers module of the production benchmark's worker processes
 * (`docket server --role worker --handlers dist/bench/handlers.js`).
 *
 * - `noop` does nothing (the drain).
 * - `probe` tells the benchmark process that it started: one UDP datagram with the job id to
 *   127.0.0.1:$DOCKET_BENCH_PROBE_PORT, sent from the handler's first line (the latency probe).
 */
import { createSocket } from 'node:dgram';
import type { Handler } from '../sdk/worker.js';

const port = Number(process.env.DOCKET_BENCH_PROBE_PORT ?? 0);
const socket = port > 0 ? createSocket('udp4') : null;
socket?.unref();

export const queues = ['default'];

export const handlers: Record<string, Handler> = {
  noop: () => {},
  probe: (job) => {
    socket?.send(job.id, port, '127.0.0.1');
  },
};
