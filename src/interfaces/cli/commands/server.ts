import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { resolveConfig, type DocketConfig } from '../../../app/config.js';
import { openEmbedded } from '../../../app/docket.js';
import { MemoryRateLimiter } from '../../../adapters/memory/memory-rate-limiter.js';
import { authFromConfig } from '../../../app/auth.js';
import type { TokenIssuer } from '../../../auth/tokens.js';
import { loadHandlers } from '../../../sdk/handlers-module.js';
import { LocalTransport } from '../../../sdk/local-transport.js';
import { Worker } from '../../../sdk/worker.js';
import { buildServer } from '../../http/server.js';
import { intOption } from '../output.js';
import { onShutdown, parseConcurrency, parseQueues } from './run-options.js';

const EXAMPLE_HANDLERS = fileURLToPath(new URL('../../../../examples/handlers.js', import.meta.url));

interface ServerOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  handlers?: string;
  worker: boolean;
  queues?: string;
  concurrency?: string;
  leaseMs?: number;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('run Docket: HTTP API, scheduler and in-process workers (embedded: SQLite under ./data)')
    .option('--port <port>', 'HTTP port (env PORT, default 8080)', intOption('--port', 0, 65535))
    .option('--host <host>', 'HTTP bind address (env DOCKET_HOST, default 127.0.0.1)')
    .option('--data-dir <dir>', 'where the SQLite database lives (env DOCKET_DATA_DIR, default ./data)')
    .option('--handlers <module>', 'handlers module for the in-process worker (env DOCKET_HANDLERS, default: the shipped examples/handlers.js)')
    .option('--no-worker', 'do not run an in-process worker (remote workers only)')
    .option('--queues <list>', 'queues the in-process worker serves, comma-separated (default: the module\'s `queues`, else "default")')
    .option('--concurrency <slots>', 'in-process worker slots: a number or priority pools as JSON (default: the module\'s `concurrency`, else 10)')
    .option('--lease-ms <ms>', 'lease time of a claim (env DOCKET_LEASE_MS, default 30000)', intOption('--lease-ms', 100, 86_400_000))
    .action(async (o: ServerOptions) => {
      const config = resolveConfig(process.env, {
        ...(o.port !== undefined ? { port: o.port } : {}),
        ...(o.host ? { host: o.host } : {}),
        ...(o.dataDir ? { dataDir: o.dataDir } : {}),
        ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
      });
      await runServer(config, o);
    });
}

async function runServer(config: DocketConfig, o: ServerOptions): Promise<void> {
  const log = pino({ level: config.logLevel });
  const docket = await openEmbedded({
    dataDir: config.dataDir,
    leaseMs: config.leaseMs,
    maxPayloadBytes: config.maxPayloadBytes,
    sqliteSync: config.sqliteSync,
    onError: (err) => log.error({ err }, 'maintenance loop failed'),
  });
  const { auth, createdSecretAt } = await authFromConfig(config);
  const app = await buildServer({
    service: docket.service,
    workers: docket.workers,
    auth,
    rateLimits: {
      limiter: new MemoryRateLimiter(),
      clock: docket.clock,
      ...(config.rateLimitTenant ? { tenant: config.rateLimitTenant } : {}),
      ...(config.rateLimitToken ? { token: config.rateLimitToken } : {}),
    },
    readiness: { store: () => docket.store.ping() },
  });
  const address = await app.listen({ host: config.host, port: config.port });
  if (createdSecretAt && auth.issuer) await printFirstToken(auth.issuer, createdSecretAt);

  let worker: Worker | null = null;
  const handlersPath = o.handlers ?? process.env.DOCKET_HANDLERS ?? (existsSync(EXAMPLE_HANDLERS) ? EXAMPLE_HANDLERS : undefined);
  if (o.worker && handlersPath) {
    const mod = await loadHandlers(handlersPath);
    const queues = o.queues ? parseQueues(o.queues) : (mod.queues ?? ['default']);
    worker = new Worker({
      transport: new LocalTransport(docket.service),
      handlers: mod.handlers,
      queues,
      concurrency: o.concurrency ? parseConcurrency(o.concurrency) : (mod.concurrency ?? 10),
      heartbeatMs: Math.max(50, Math.floor(config.leaseMs / 3)),
      logger: log,
      name: 'in-process',
    });
    await worker.start();
    log.info({ handlers: handlersPath, types: Object.keys(mod.handlers), queues }, 'in-process worker started');
  }
  log.info({ url: address, database: join(config.dataDir, 'docket.db') }, `Docket listening on ${address} (embedded)`);

  onShutdown(async () => {
    await worker?.close();
    await app.close();
    await docket.stop();
  });
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
