import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { authFromConfig } from '../../../app/auth.js';
import { logEngineChanges } from '../../../app/engine-log.js';
import { loadConfig, parseRoles, type Config } from '../../../config/index.js';
import type { Engine } from '../../../app/engine.js';
import { startTracingFromEnv } from '../../../app/tracing.js';
import type { TokenIssuer } from '../../../auth/tokens.js';
import { LocalTransport } from '../../../sdk/local-transport.js';
import { Worker } from '../../../sdk/worker.js';
import type { buildServer } from '../../http/server.js';
import { createLogger, logFormatOption, type LogFormat } from '../logger.js';
import { CliError, EXIT, intOption } from '../output.js';
import { handleProcessErrors } from '../process-errors.js';
import { handlersOf, logJobFailures, onShutdown, parseConcurrency, parseQueues } from './run-options.js';

/**
 * Connections the kernel queues before the server accepts them (Node's default is 511). A fleet of
 * thousands of HTTP workers connecting at once (a restart, a deploy) overflowed 511, and the
 * clients waited out SYN retries of 1, 3, 7… s; the kernel caps this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;

const EXAMPLE_HANDLERS = fileURLToPath(new URL('../../../../examples/handlers.js', import.meta.url));

interface ServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  role?: string;
  config?: string;
  handlers?: string;
  worker: boolean;
  queues?: string;
  concurrency?: string;
  leaseMs?: number;
  logFormat?: LogFormat;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('run Docket: HTTP API, scheduler and in-process workers (embedded: SQLite under ./data; production: PostgreSQL + Redis)')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)', intOption('--port', 0, 65535))
    .option('--host <host>', 'HTTP bind address (env DOCKET_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where the SQLite database lives (env DOCKET_DATA_DIR, default ./data)')
    .option('--database-url <url>', 'production: PostgreSQL store (env DOCKET_DATABASE_URL; needs --redis-url)')
    .option('--redis-url <url>', 'production: Redis dispatch (env DOCKET_REDIS_URL; needs --database-url)')
    .option('--config <file>', 'configuration file (JSON): recovery rules and policies, retention, ingest rules (env DOCKET_CONFIG)')
    .option('--role <roles>', 'what this process does: api, scheduler, worker, comma-separated (env DOCKET_ROLES, default all)')
    .option('--handlers <module>', 'handlers module for the in-process worker (env DOCKET_HANDLERS, default: the shipped examples/handlers.js)')
    .option('--no-worker', 'do not run an in-process worker (remote workers only)')
    .option('--queues <list>', 'queues the in-process worker serves, comma-separated (default: the module\'s `queues`, else "default")')
    .option('--concurrency <slots>', 'in-process worker slots: a number or priority pools as JSON (default: the module\'s `concurrency`, else 10)')
    .option('--lease-ms <ms>', 'lease time of a claim (env DOCKET_LEASE_MS, default 30000)', intOption('--lease-ms', 100, 86_400_000))
    .addOption(logFormatOption())
    .action(async (o: ServerOptions) => {
      // Flags over environment over defaults; the file's rules beside them (docs/configuration.md).
      const config = loadConfig(process.env, {
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.host ? { host: o.host } : {}),
        ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}),
        ...(o.redisUrl ? { redisUrl: o.redisUrl } : {}),
        ...(o.role ? { roles: parseRoles(o.role, '--role') } : {}),
        ...(o.config ? { configFile: resolve(o.config) } : {}),
        ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
        ...(o.handlers ? { handlers: o.handlers } : {}),
      });
      await runServer(config, o);
    });
}

async function runServer(config: Config, o: ServerOptions): Promise<void> {
  const log = createLogger(config.logLevel, o.logFormat);
  handleProcessErrors(log);
  const tracing = await startTracingFromEnv(process.env, 'docket');
  if (tracing) log.info({ exporter: tracing.config.exporter, protocol: tracing.config.protocol }, 'tracing on: exporting spans (OTEL_* environment, docs/tracing.md)');
  const api = config.roles.has('api');
  const auth = api ? await authFromConfig(config) : null;
  // Loaded here, not at the top: the engine and the HTTP server are most of the CLI's start-up
  // time (2 s of CPU measured), which `docket list` or a completion should not pay.
  const [{ openEngine }, { buildServer }] = await Promise.all([import('../../../app/engine.js'), import('../../http/server.js')]);
  const engine = await openEngine(
    config,
    (err, what) => log.error({ err }, what ?? 'maintenance failed'),
    (leader) => log.info({ leader }, leader ? 'leadership acquired: running the cluster duties' : 'leadership lost'),
    (engine, downMs, suppressed) => log.info({ engine, downMs, suppressed }, `${engine} is back after ${Math.round(downMs / 1000)} s (${suppressed} more errors while it was down)`),
  );
  const { docket } = engine;
  for (const warning of engine.warnings) log.warn(warning);
  const stopEngineLog = logEngineChanges(docket, log);

  let app: Awaited<ReturnType<typeof buildServer>> | null = null;
  let address = '';
  if (auth) {
    app = await buildServer({
      jobs: docket.jobs,
      workers: docket.workers,
      recovery: docket.recoveryOps,
      auth: auth.auth,
      rateLimits: {
        limiter: engine.rateLimiter,
        clock: docket.clock,
        ...(config.rateLimitTenant ? { tenant: config.rateLimitTenant } : {}),
        ...(config.rateLimitToken ? { token: config.rateLimitToken } : {}),
      },
      readiness: engine.readiness,
      isLeader: () => docket.leadership?.isLeader ?? false,
      ingest: engine.ingest,
      schedules: docket.schedules,
      events: { log: docket.store.events, source: docket.relay.source, onPositioned: (listener) => docket.relay.onPositioned(listener) },
      ...(docket.webhooks ? { webhooks: docket.webhooks.service } : {}),
      metrics: docket.metrics,
      alerts: docket.alerts?.store ?? null,
      alertRules: docket.alerts?.evaluator.rules.map((r) => r.name) ?? [],
      loggerInstance: log,
    });
    address = await app.listen({ host: config.host, port: config.port, backlog: LISTEN_BACKLOG }).catch(async (err: { code?: string }) => {
      if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
      await engine.close();
      const why = err.code === 'EADDRINUSE' ? 'is in use (another docket server?)' : 'may not be opened by this user';
      throw new CliError(`port ${config.port} on ${config.host} ${why}: pick another with --port or PORT`, EXIT.usage);
    });
    if (auth.createdSecretAt && auth.auth.issuer) await printFirstToken(auth.auth.issuer, auth.createdSecretAt);
  }

  const worker = config.roles.has('worker') && o.worker ? await startWorker(engine, config, o, log) : null;
  log.info(
    { mode: engine.mode, roles: [...config.roles], url: address || undefined, data: engine.location, leader: docket.leadership?.isLeader ?? false },
    address ? `Docket listening on ${address} (${engine.mode})` : `Docket running (${engine.mode}, roles ${[...config.roles].join(',')})`,
  );

  onShutdown(log, () => `${worker ? `${worker.activeCount} running in-process jobs to finish (up to 10 s), then ` : ''}open requests, then the engine's loops and connections`, async () => {
    await worker?.close();
    await app?.close();
    await engine.close();
    stopEngineLog();
    await tracing?.shutdown();
  });
}

async function startWorker(engine: Engine, config: Config, o: ServerOptions, log: Logger): Promise<Worker | null> {
  const handlersPath = config.handlers ?? (existsSync(EXAMPLE_HANDLERS) ? EXAMPLE_HANDLERS : undefined);
  if (!handlersPath) return null;
  const mod = await handlersOf(handlersPath);
  const queues = o.queues ? parseQueues(o.queues) : (mod.queues ?? ['default']);
  const worker = new Worker({
    transport: new LocalTransport(engine.docket.jobs, engine.docket.workers),
    handlers: mod.handlers,
    queues,
    concurrency: o.concurrency ? parseConcurrency(o.concurrency) : (mod.concurrency ?? 10),
    heartbeatMs: Math.max(50, Math.floor(config.leaseMs / 3)),
    logger: log,
    // A claim or heartbeat that fails in an outage is logged once per outage, like the engine's own loops.
    onError: (err, what) => engine.reportError(err, what),
    name: 'in-process',
    ...(mod.filter ? { filter: mod.filter } : {}),
  });
  logJobFailures(worker, log);
  await worker.start();
  log.info({ handlers: handlersPath, types: Object.keys(mod.handlers), queues }, 'in-process worker started');
  return worker;
}

/**
 * Secure by default: on first start the server created its signing secret; hand the operator a
 * token to begin with (stderr, so it is not mixed with logs piped elsewhere).
 */
async function printFirstToken(issuer: TokenIssuer, secretPath: string): Promise<void> {
  const token = await issuer.mint({ subject: 'admin', tenant: 'default', roles: ['admin'], expiresInSeconds: 30 * 86_400 });
  process.stderr.write(
    [
      '',
      `Docket created its token signing secret in ${secretPath} (keep it private).`,
      'An admin token, valid 30 days:',
      '',
      `  export DOCKET_TOKEN=${token}`,
      '',
      'Mint others with:  bin/docket token --tenant acme --role submitter',
      '',
    ].join('\n'),
  );
}
