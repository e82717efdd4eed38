/**
 * Docket production mode as a system under test, on PostgreSQL (a schema of its own) and Redis (a
 * key prefix of its own), in one of two deployments (`deployment`):
 * - `separate` (default): one server process (`docket server --role api,scheduler --no-worker`)
 *   and worker processes (`docket server --role worker --handlers bench/dist/bench/handlers.js
 *   --concurrency C`), as `--mode production` deploys it;
 * - `server`: one `docket server` process with every role and its in-process worker. Jobs are
 *   enqueued while no worker runs, so until startWorkers (and again after stopWorkers) the server
 *   runs without its worker (`--no-worker`); startWorkers replaces it with one that has its worker.
 * Enqueue over HTTP: `POST /v1/jobs/bulk` (1,000 per request), probes with `POST /v1/jobs`.
 * The fairness scenario sets `fairnessRules` for its own step: written to a config file that the
 * server and the workers (which claim, so apply the weights) get as DOCKET_CONFIG.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Agent } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Role } from '../../src/auth/roles.js';
import { BIN, HANDLERS, ROOT } from '../paths.js';
import { adminQuery, deleteKeys, docketDatabaseUrl, postCreated, Proc, readyCount } from '../production.js';
import { peakRssOf, redisBytes, schemaBytes } from '../proc-stats.js';
import type { FairnessConfig } from '../../src/domain/fairness.js';
import type { CpuScope } from '../cpu.js';
import type { WorkerSetup } from '../scenarios/fairness.js';
import { mintToken, type RemoteServer } from './remote.js';
import type { System, SystemContext } from '../system.js';
import type { Start, TenantJob } from './embedded.js';

export interface DocketProductionSettings {
  /** `separate`: an api+scheduler server and `workers` worker processes; `server`: one server with its in-process worker. */
  deployment: 'separate' | 'server';
  /** Worker processes (`separate` only). */
  workers: number;
  /** Slots of each worker process, or of the server's in-process worker. */
  concurrency: number;
  /** PostgreSQL synchronous_commit of Docket's connections; null: the server's. */
  synchronousCommit: string | null;
  lifecycleEvents: string;
}

export class DocketProductionSystem implements System {
  readonly name = 'docket-production';
  readonly settings: DocketProductionSettings;
  private schema = '';
  private prefix = '';
  private server: Proc | null = null;
  /** The server runs its in-process worker (deployment `server`, between startWorkers and stopWorkers). */
  private serverWorks = false;
  private workers: Proc[] = [];
  private redis: Redis | null = null;
  private db: pg.Client | null = null;
  private agent: Agent | null = null;
  /** Probes get a connection of their own: under load they must not queue behind bulk requests. */
  private probeAgent: Agent | null = null;
  private url: URL | null = null;
  private secret = '';
  private tokens = new Map<string, string>();
  fairnessRules: FairnessConfig | null = null;
  /** The config file of this setup's processes (fairnessRules), in a temp directory; '' when none. */
  private configDir = '';

  constructor(private readonly ctx: SystemContext) {
    this.settings = { deployment: 'separate', workers: 1, concurrency: 400, synchronousCommit: null, lifecycleEvents: 'logged (outbox), not published (no Kafka)', ...(ctx.overrides as Partial<DocketProductionSettings>) };
    if (!['separate', 'server'].includes(this.settings.deployment)) throw new Error(`docket-production: deployment "${String(this.settings.deployment)}" is not one of separate, server`);
  }

  async versions(): Promise<Record<string, string>> {
    const require = createRequire(import.meta.url);
    return { docket: (require(`${ROOT}package.json`) as { version: string }).version };
  }

  private databaseUrl(role: string): string {
    return docketDatabaseUrl(this.ctx.databaseUrl, this.schema, this.settings.synchronousCommit, '', `${this.schema}:${role}`);
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKET_REDIS_URL: this.ctx.redisUrl, DOCKET_REDIS_PREFIX: this.prefix, DOCKET_LOG_LEVEL: 'warn' };
    for (const name of ['DOCKET_ROLES', 'DOCKET_HANDLERS', 'DOCKET_CONFIG', 'DOCKET_JWKS', 'DOCKET_KAFKA_BROKERS', 'DOCKET_KAFKA_TOPIC_PREFIX', 'DOCKET_BENCH_PROBE_PORT']) delete env[name];
    if (this.configDir) env.DOCKET_CONFIG = join(this.configDir, 'docket.json');
    return env;
  }

  async setup(): Promise<void> {
    const id = randomUUID().replace(/-/g, '');
    this.schema = `docket_bench_${id}`;
    this.prefix = `docket-bench:${id}:`;
    this.secret = randomBytes(32).toString('hex');
    this.tokens.clear();
    if (this.fairnessRules) {
      this.configDir = mkdtempSync(join(tmpdir(), 'docket-bench-config-'));
      writeFileSync(join(this.configDir, 'docket.json'), JSON.stringify({ fairness: this.fairnessRules }));
    }
    await adminQuery(this.ctx.databaseUrl, `CREATE SCHEMA "${this.schema}"`);
    this.redis = new Redis(this.ctx.redisUrl);
    this.db = new pg.Client({ connectionString: docketDatabaseUrl(this.ctx.databaseUrl, this.schema, null, '', 'docket-bench') });
    await this.db.connect();
    await this.startServer(null);
  }

  /**
   * (Re)starts the server: api and scheduler, plus its in-process worker with these arguments
   * when `worker` is given. The HTTP connections are new ones (the port changes).
   */
  private async startServer(worker: string[] | null, extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    await this.server?.stop();
    this.agent?.destroy();
    this.probeAgent?.destroy();
    const roles = worker ? ['--role', 'api,scheduler,worker', '--handlers', HANDLERS, ...worker] : ['--role', 'api,scheduler', '--no-worker'];
    this.server = new Proc(worker ? 'docket server (in-process worker)' : 'docket server', [...this.ctx.nodeArgs, BIN, 'server', ...roles, '--port', '0'], {
      ...this.env(),
      DOCKET_LOG_LEVEL: 'info',
      DOCKET_DATABASE_URL: this.databaseUrl('server'),
      DOCKET_JWT_SECRET: this.secret,
      DOCKET_RATE_LIMIT_TENANT: 'off',
      DOCKET_RATE_LIMIT_TOKEN: 'off',
      DOCKET_HOST: '127.0.0.1',
      ...(worker ? { BENCH_SIGNAL_PORT: String(this.ctx.signals.port) } : {}),
      ...extraEnv,
    });
    this.serverWorks = worker !== null;
    this.url = new URL(String((await this.server.waitForLog((r) => typeof r.url === 'string', 60_000)).url));
    // node:http on one kept-alive connection: lighter than fetch(), whose cost would count in the latency.
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  private async token(tenant: string, roles: Role[] = ['submitter']): Promise<string> {
    const key = `${roles.join(',')}/${tenant}`;
    let t = this.tokens.get(key);
    if (!t) {
      t = await mintToken(this.secret, roles, tenant);
      this.tokens.set(key, t);
    }
    return t;
  }

  /**
   * The scale scenario: the server restarted (api and scheduler, no worker) with this lease and
   * heartbeat timeout, for remote HTTP workers to talk to.
   */
  async remoteServer(leaseMs: number): Promise<RemoteServer> {
    await this.startServer(null, { DOCKET_LEASE_MS: String(leaseMs) });
    return { url: this.url!, pid: this.server!.pid, token: (roles, tenant) => this.token(tenant, roles) };
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    await postCreated(this.url!, `/v1/queues/${queue}/${paused ? 'pause' : 'resume'}`, '{}', await this.token('bench', ['admin']), this.agent!, 200);
  }

  private async post(path: string, body: string, tenant = 'bench', agent = this.agent!): Promise<unknown> {
    return postCreated(this.url!, path, body, await this.token(tenant), agent);
  }

  private bulkBody = '';
  async enqueueBatch(n: number): Promise<void> {
    if (n === 1000 && this.bulkBody) return void (await this.post('/v1/jobs/bulk', this.bulkBody));
    const body = JSON.stringify({ jobs: Array.from({ length: n }, () => ({ type: 'noop' })) });
    if (n === 1000) this.bulkBody = body;
    await this.post('/v1/jobs/bulk', body);
  }

  async submitProbe(key: string): Promise<void> {
    await this.post('/v1/jobs', JSON.stringify({ type: 'probe', payload: { k: key } }), 'bench', this.probeAgent!);
  }

  /** Fairness and priority scenarios: jobs of one tenant, 1,000 per request. */
  async submitAs(tenant: string, jobs: readonly TenantJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000) await this.post('/v1/jobs/bulk', JSON.stringify({ jobs: jobs.slice(i, i + 1000) }), tenant);
  }

  /** Start times (epoch ms) of the jobs of a type, with their tenant and priority, in start order. */
  async starts(type: string): Promise<Start[]> {
    const { rows } = await this.db!.query<{ tenant: string; queue: string; priority: number; started_at: string }>(
      `SELECT tenant, queue, priority, started_at FROM jobs WHERE type = $1 AND started_at IS NOT NULL ORDER BY started_at, id`,
      [type],
    );
    return rows.map((r) => ({ tenant: r.tenant, queue: r.queue, priority: r.priority, startedAt: Number(r.started_at) }));
  }

  async startWorkers(setup: WorkerSetup = {}): Promise<void> {
    if (this.workers.length > 0 || this.serverWorks) return;
    const concurrency = setup.concurrency ?? this.settings.concurrency;
    const args = ['--concurrency', typeof concurrency === 'number' ? String(concurrency) : JSON.stringify(concurrency), ...(setup.queues ? ['--queues', setup.queues.join(',')] : [])];
    if (this.settings.deployment === 'server') return this.startServer(args);
    for (let w = 0; w < this.settings.workers; w++) {
      this.workers.push(
        new Proc(`docket worker ${w + 1}`, [...this.ctx.nodeArgs, BIN, 'server', '--role', 'worker', '--handlers', HANDLERS, ...args], {
          ...this.env(),
          DOCKET_DATABASE_URL: this.databaseUrl('worker'),
          BENCH_SIGNAL_PORT: String(this.ctx.signals.port),
        }),
      );
    }
  }

  async pending(): Promise<number> {
    for (const p of [this.server, ...this.workers]) p?.assertAlive();
    const ready = await readyCount(this.redis!, this.prefix);
    if (ready > 0) return ready;
    const { rows } = await this.db!.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE state IN ('ready', 'running', 'retrying', 'scheduled')`);
    return rows[0]!.n;
  }

  async stopWorkers(): Promise<void> {
    if (this.serverWorks) await this.startServer(null);
    await this.stopWorkerProcesses();
  }

  private async stopWorkerProcesses(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((p) => p.stop()));
  }

  peakRss(): Record<string, number> {
    return Object.fromEntries([this.server, ...this.workers].filter((p) => p !== null).map((p) => [p.name, peakRssOf(p.pid)]));
  }

  cpuScope(): CpuScope {
    return { own: [this.server, ...this.workers].filter((p) => p !== null).map((p) => p.pid), applicationPrefix: `${this.schema}:`, redis: true };
  }

  async storeBytes(): Promise<Record<string, number>> {
    return { postgres: await schemaBytes(this.ctx.databaseUrl, this.schema), redis: await redisBytes(this.redis!, this.prefix) };
  }

  async teardown(): Promise<void> {
    await this.stopWorkerProcesses();
    await this.server?.stop();
    this.server = null;
    this.serverWorks = false;
    this.agent?.destroy();
    this.probeAgent?.destroy();
    this.agent = this.probeAgent = null;
    this.bulkBody = '';
    await this.db?.end().catch(() => {});
    this.db = null;
    if (this.configDir) rmSync(this.configDir, { recursive: true, force: true });
    this.configDir = '';
    if (this.schema) await adminQuery(this.ctx.databaseUrl, `DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch((err) => console.error(`could not drop schema ${this.schema}:`, err));
    this.schema = '';
    if (this.redis) {
      await deleteKeys(this.redis, this.prefix).catch((err) => console.error(`could not delete Redis keys ${this.prefix}*:`, err));
      this.redis.disconnect();
      this.redis = null;
    }
  }
}
