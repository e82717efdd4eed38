import { Command } from 'commander';
import { HttpTransport } from '../../../sdk/http-transport.js';
import { Worker } from '../../../sdk/worker.js';
import { startTracingFromEnv } from '../../../app/tracing.js';
import type { ClaimFilter } from '../../../ports/dispatch.js';
import { DocketApiError } from '../../../sdk/client.js';
import { CliError, EXIT, intOption, unreachable } from '../output.js';
import { handleProcessErrors } from '../process-errors.js';
import { clientOptions, withConnection, type ConnectionOptions } from './connection.js';
import { createLogger, logFormatOption, type LogFormat } from '../logger.js';
import { handlersOf, logJobFailures, onShutdown, parseConcurrency, parseQueues } from './run-options.js';

interface WorkerCommandOptions extends ConnectionOptions {
  handlers: string;
  queues?: string;
  concurrency?: string;
  heartbeatMs: number;
  name?: string;
  types?: string;
  labels?: string;
  logFormat?: LogFormat;
}

/** `--types resize,thumb` -> the types. */
export function parseTypes(raw: string): string[] {
  const types = raw.split(',').map((t) => t.trim()).filter(Boolean);
  if (types.length === 0) throw new CliError(`--types ${JSON.stringify(raw)}: give job types, comma-separated (e.g. --types resize,thumb)`, EXIT.usage);
  return types;
}

/** `--labels region=eu,gpu=true` -> the labels a job must carry (all of them). */
export function parseLabels(raw: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(`--labels: "${entry}" is not key=value (e.g. --labels region=eu,gpu=true)`, EXIT.usage);
    labels[entry.slice(0, at)] = entry.slice(at + 1);
  }
  if (Object.keys(labels).length === 0) throw new CliError(`--labels ${JSON.stringify(raw)}: give key=value pairs, comma-separated`, EXIT.usage);
  return labels;
}

/** The flags over the module's `filter`, each part on its own: --types replaces its types, --labels its labels. */
export function filterOf(o: { types?: string; labels?: string }, fromModule: ClaimFilter | undefined): ClaimFilter | undefined {
  const types = o.types !== undefined ? parseTypes(o.types) : fromModule?.types;
  const labels = o.labels !== undefined ? parseLabels(o.labels) : fromModule?.labels;
  if (!types && !labels) return undefined;
  return { ...(types ? { types } : {}), ...(labels ? { labels } : {}) };
}

export function workerCommand(): Command {
  return withConnection(new Command('worker'))
    .description('run a worker process that claims jobs from a Docket server over HTTP')
    .requiredOption('--handlers <module>', 'handlers module: exports `handlers` mapping job types to functions')
    .option('--queues <list>', 'queues to serve, comma-separated (default: the module\'s `queues`, else "default")')
    .option('--concurrency <slots>', 'slots: a number or priority pools as JSON (default 10)')
    .option('--heartbeat-ms <ms>', 'how often to extend leases; keep well under the server lease', intOption('--heartbeat-ms', 50, 3_600_000), 10_000)
    .option('--name <name>', 'worker name shown in the API')
    .option('--types <list>', 'claim only jobs of these types, comma-separated (default: the module\'s `filter.types`, else every type)')
    .option('--labels <pairs>', 'claim only jobs carrying all these labels, key=value comma-separated (default: the module\'s `filter.labels`)')
    .addOption(logFormatOption())
    .action(async (o: WorkerCommandOptions) => {
      const mod = await handlersOf(o.handlers);
      const filter = filterOf(o, mod.filter);
      const log = createLogger(process.env.DOCKET_LOG_LEVEL ?? 'info', o.logFormat);
      handleProcessErrors(log);
      const tracing = await startTracingFromEnv(process.env, 'docket-worker');
      if (tracing) log.info({ exporter: tracing.config.exporter, protocol: tracing.config.protocol }, 'tracing on: exporting spans (OTEL_* environment, docs/tracing.md)');
      const worker = new Worker({
        transport: new HttpTransport(clientOptions(o)),
        handlers: mod.handlers,
        queues: o.queues ? parseQueues(o.queues) : (mod.queues ?? ['default']),
        concurrency: o.concurrency ? parseConcurrency(o.concurrency) : (mod.concurrency ?? 10),
        heartbeatMs: o.heartbeatMs,
        logger: log,
        ...(o.name ? { name: o.name } : {}),
        ...(filter ? { filter } : {}),
      });
      logJobFailures(worker, log);
      await startWhenUp(worker, o.url, log);
      log.info({ workerId: worker.id, url: o.url, types: Object.keys(mod.handlers), ...(filter ? { filter } : {}) }, 'worker started');
      onShutdown(
        log,
        () => `${worker.activeCount} running jobs to finish (up to 10 s, then they go back to the queue)`,
        async () => {
          await worker.close();
          await tracing?.shutdown();
        },
      );
    });
}

/**
 * Starts the worker once its server answers, so workers may start before the server (a deploy, a
 * compose file): while nobody answers, or the server says 503, it tries again after 0.5 s, then
 * twice as long each time up to 10 s, logging each wait. Any other error stops it.
 */
async function startWhenUp(worker: Worker, url: string, log: { warn(o: object, msg: string): void }): Promise<void> {
  for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 10_000)) {
    try {
      await worker.start();
      return;
    } catch (err) {
      const waiting = unreachable(err) || (err instanceof DocketApiError && err.status === 503);
      if (!waiting) throw err;
      log.warn({ url, retryInMs: delayMs, reason: err instanceof DocketApiError ? err.message : (err as { cause?: { code?: string } }).cause?.code }, 'server not answering yet; waiting for it');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
