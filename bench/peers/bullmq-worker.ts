/** A BullMQ worker process of the benchmark: one Worker, `concurrency` slots, no-op and probe jobs. */
import { Worker } from 'bullmq';
import { SignalSender } from '../signals.js';
import type { BullmqSettings } from './bullmq.js';
import { connection } from './redis-connection.js';
import { envSettings } from './processes.js';

const s = envSettings<BullmqSettings>();
const signals = new SignalSender();
const worker = new Worker(
  s.queue,
  async (job) => {
    if (job.name === 'probe') signals.probe((job.data as { k: string }).k);
    else signals.noop();
  },
  { connection: connection(s.redisUrl), prefix: s.prefix, concurrency: s.concurrency },
);
worker.on('error', (err) => console.error(err));
process.once('SIGTERM', () => {
  void worker.close().then(() => {
    signals.flush();
    setTimeout(() => process.exit(0), 20);
  });
});
