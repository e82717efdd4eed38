/** A graphile-worker process of the benchmark: run() with its batching options, no-op and probe tasks. */
import { run } from 'graphile-worker';
import { SignalSender } from '../signals.js';
import { quietLogger, type GraphileSettings } from './graphile-worker.js';
import { envSettings } from './processes.js';

const s = envSettings<GraphileSettings>();
const signals = new SignalSender();
const runner = await run({
  connectionString: s.connectionString,
  concurrency: s.concurrentJobs,
  maxPoolSize: s.maxPoolSize,
  pollInterval: s.pollInterval,
  useNodeTime: s.useNodeTime,
  logger: quietLogger(),
  noHandleSignals: true,
  preset: {
    worker: {
      localQueue: { size: s.localQueueSize },
      completeJobBatchDelay: s.completeJobBatchDelay,
      failJobBatchDelay: s.failJobBatchDelay,
    },
  },
  taskList: {
    noop: async () => signals.noop(),
    probe: async (payload) => signals.probe((payload as { k: string }).k),
  },
});
process.once('SIGTERM', () => {
  void runner.stop().then(() => {
    signals.flush();
    setTimeout(() => process.exit(0), 20);
  });
});
