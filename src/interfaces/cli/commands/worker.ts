import { Command } from 'commander';
import { pino } from 'pino';
import { HttpTransport } from '../../../sdk/http-transport.js';
import { loadHandlers } from '../../../sdk/handlers-module.js';
import { Worker } from '../../../sdk/worker.js';
import { intOption } from '../output.js';
import { clientOptions, withConnection, type ConnectionOptions } from './connection.js';
import { onShutdown, parseConcurrency, parseQueues } from './run-options.js';

interface WorkerCommandOptions extends ConnectionOptions {
  handlers: string;
  queues?: string;
  concurrency?: string;
  heartbeatMs: number;
  name?: string;
}

export function workerCommand(): Command {
  return withConnection(new Command('worker'))
    .description('run a worker process that claims jobs from a Docket server over HTTP')
    .requiredOption('--handlers <module>', 'handlers module: exports `handlers` mapping job types to functions')
    .option('--queues <list>', 'queues to serve, comma-separated (default: the module\'s `queues`, else "default")')
    .option('--concurrency <slots>', 'slots: a number or priority pools as JSON (default 10)')
    .option('--heartbeat-ms <ms>', 'how often to extend leases; keep well under the server lease', intOption('--heartbeat-ms', 50, 3_600_000), 10_000)
    .option('--name <name>', 'worker name shown in the API')
    .action(async (o: WorkerCommandOptions) => {
      const mod = await loadHandlers(o.handlers);
      const log = pino({ level: process.env.DOCKET_LOG_LEVEL ?? 'info' });
      const worker = new Worker({
        transport: new HttpTransport(clientOptions(o)),
        handlers: mod.handlers,
        queues: o.queues ? parseQueues(o.queues) : (mod.queues ?? ['default']),
        concurrency: o.concurrency ? parseConcurrency(o.concurrency) : (mod.concurrency ?? 10),
        heartbeatMs: o.heartbeatMs,
        logger: log,
        ...(o.name ? { name: o.name } : {}),
      });
      await worker.start();
      log.info({ workerId: worker.id, url: o.url, types: Object.keys(mod.handlers) }, 'worker started');
      onShutdown(() => worker.close());
    });
}
