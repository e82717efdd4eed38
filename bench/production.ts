/**
 * Production mode, deployed as a user would: one server process
 * (`docket server --role api,scheduler --no-worker`) and N worker processes
 * (`docket server --role worker --handlers bench/dist/bench/handlers.js --concurrency C`), against
 * PostgreSQL (a fresh schema per run, dropped afterwards) and Redis (a fresh key prefix per run,
 * its keys deleted afterwards).
 *
 * 1. enqueue: N no-op jobs over HTTP, `POST /v1/jobs/bulk` with 1,000 jobs per request, one request
 *    at a time (the embedded run calls jobs.submitter.submit with 1,000 jobs per call in-process).
 * 2. drain: the worker processes are started together on the full queue; jobs/s is N over the time
 *    from the first job's start (min started_at) to the last one's finish (max finished_at), read
 *    from PostgreSQL once every job there is `succeeded`: every finished job is durable.
 * 3. latency: on the now idle cluster, jobs submitted one at a time (`POST /v1/jobs`); each is the
 *    time from just before the request to the arrival of a UDP datagram the `probe` handler sends
 *    from its first line (loopback, ~0.05 ms).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import { hmacAuthenticator } from '../src/auth/tokens.js';
import { percentile, progressBar, type BenchSettings, type RunResult } from './common.js';
import { BIN, HANDLERS, ROOT } from './paths.js';

const BULK = 1000;
/** Debugging: lines of Docket's processes containing this text are copied to stderr. */
const ECHO = process.env.DOCKET_BENCH_ECHO;

/** The base database URL with the schema (and optionally synchronous_commit) as connection options. */
export function docketDatabaseUrl(base: string, schema: string, synchronousCommit: string | null, extra = '', applicationName = schema): string {
  // application_name tells Docket's backends from other clients of the server (CPU accounting).
  const options = [`-c search_path=${schema}`, `-c application_name=${applicationName}`, ...(synchronousCommit ? [`-c synchronous_commit=${synchronousCommit}`] : []), ...(extra ? [extra] : [])].join(' ');
  return `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`;
}

/** Server and tool versions, and the durability setting Docket's connections get. */
export async function productionEnvironment(s: BenchSettings): Promise<Record<string, unknown>> {
  const client = new pg.Client({ connectionString: docketDatabaseUrl(s.databaseUrl, 'public', s.synchronousCommit, s.pgOptions) });
  await client.connect();
  const redis = new Redis(s.redisUrl);
  try {
    const setting = async (name: string) => (await client.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]!.v;
    const info = await redis.info('server');
    return {
      postgres: await setting('server_version'),
      synchronous_commit: await setting('synchronous_commit'),
      fsync: await setting('fsync'),
      wal_sync_method: await setting('wal_sync_method'),
      shared_buffers: await setting('shared_buffers'),
      full_page_writes: await setting('full_page_writes'),
      autovacuum: await setting('autovacuum'),
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    };
  } finally {
    await client.end();
    redis.disconnect();
  }
}

export async function productionOnce(run: number, s: BenchSettings): Promise<RunResult> {
  const N = s.jobs;
  const id = randomUUID().replace(/-/g, '');
  const schema = `docket_bench_${id}`;
  const prefix = `docket-bench:${id}:`;
  // The server's and the workers' connections are told apart by application_name (`<schema>:server`, `<schema>:worker`).
  const databaseUrl = (role: string) => docketDatabaseUrl(s.databaseUrl, schema, s.synchronousCommit, s.pgOptions, `${schema}:${role}`);
  const secret = randomBytes(32).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKET_REDIS_URL: s.redisUrl,
    DOCKET_REDIS_PREFIX: prefix,
    DOCKET_LOG_LEVEL: 'info',
  };
  // What the benchmark sets itself, or that would change the deployment under test.
  for (const name of ['DOCKET_ROLES', 'DOCKET_HANDLERS', 'DOCKET_CONFIG', 'DOCKET_JWKS', 'DOCKET_KAFKA_BROKERS', 'DOCKET_KAFKA_TOPIC_PREFIX']) delete env[name];
  if (s.kafkaBrokers) Object.assign(env, { DOCKET_KAFKA_BROKERS: s.kafkaBrokers, DOCKET_KAFKA_TOPIC_PREFIX: `docket-bench-${id}.` });

  await adminQuery(s.databaseUrl, `CREATE SCHEMA "${schema}"`);
  const redis = new Redis(s.redisUrl);
  // The benchmark's own connection (polls, checks) is not counted as Docket's.
  const db = new pg.Client({ connectionString: docketDatabaseUrl(s.databaseUrl, schema, null, '', 'docket-bench') });
  const probes = createSocket('udp4');
  const procs: Proc[] = [];
  let agent: Agent | null = null;
  try {
    await db.connect();
    const arrivals = new Map<string, (at: number) => void>();
    const early = new Map<string, number>();
    probes.on('message', (msg) => {
      const at = performance.now();
      const jobId = msg.toString();
      const waiter = arrivals.get(jobId);
      if (waiter) waiter(at);
      else early.set(jobId, at);
    });
    await new Promise<void>((resolve) => probes.bind(0, '127.0.0.1', resolve));
    const probePort = probes.address().port;

    // The server: HTTP API and scheduler (leader: maintenance loops, dispatch repair), no worker.
    // Rate limits off: the benchmark is one client sending as fast as it can.
    const server = new Proc(
      'server',
      [...s.serverNodeArgs, BIN, 'server', '--role', 'api,scheduler', '--no-worker', '--port', '0'],
      { ...env, DOCKET_DATABASE_URL: databaseUrl('server'), DOCKET_JWT_SECRET: secret, DOCKET_RATE_LIMIT_TENANT: 'off', DOCKET_RATE_LIMIT_TOKEN: 'off', DOCKET_HOST: '127.0.0.1' },
    );
    procs.push(server);
    const url = String((await server.waitForLog((r) => typeof r.url === 'string', 60_000)).url);
    const token = await hmacAuthenticator(secret).issuer!.mint({ subject: 'bench', tenant: 'bench', roles: ['submitter'], expiresInSeconds: 3600 });
    // One kept-alive connection (see postCreated).
    const httpAgent = (agent = new Agent({ keepAlive: true, maxSockets: 1 }));
    const api = (path: string, body: string) => postCreated(new URL(url), path, body, token, httpAgent);

    // 1. Enqueue over HTTP, 1000 jobs per request.
    const bar = progressBar(`production run ${run}`);
    bar.start(N, 0, { phase: 'enqueue' });
    const full = JSON.stringify({ jobs: Array.from({ length: BULK }, () => ({ type: 'noop' })) });
    let t = performance.now();
    for (let i = 0; i < N; i += BULK) {
      const n = Math.min(BULK, N - i);
      await api('/v1/jobs/bulk', n === BULK ? full : JSON.stringify({ jobs: Array.from({ length: n }, () => ({ type: 'noop' })) }));
      bar.update(i + n);
    }
    const enqueuePerSec = N / ((performance.now() - t) / 1000);
    const queued = await readyCount(redis, prefix);
    if (queued !== N) throw new Error(`after the enqueue, the ready index holds ${queued} jobs, expected ${N}`);
    // What autovacuum's auto-analyze does after a bulk insert like this one; done here because a
    // server may have autovacuum off (this machine's test server has), leaving the planner no statistics.
    await db.query('ANALYZE jobs');

    // 2. Drain: all worker processes started at once on the full queue.
    bar.update(0, { phase: 'drain  ' });
    const tableBefore = await tableStats(db);
    t = performance.now();
    for (let w = 0; w < s.workers; w++) {
      procs.push(
        new Proc(
          `worker ${w + 1}`,
          [...s.workerNodeArgs, BIN, 'server', '--role', 'worker', '--handlers', HANDLERS, '--concurrency', String(s.concurrency)],
          { ...env, DOCKET_DATABASE_URL: databaseUrl('worker'), DOCKET_BENCH_PROBE_PORT: String(probePort) },
        ),
      );
    }
    // CPU time is counted from the first take to the end of the drain.
    let left = N;
    while ((left = await readyCount(redis, prefix)) === N) {
      for (const p of procs) p.assertAlive();
      await sleep(10);
    }
    const cpuBefore = await cpuSnapshot(procs, db, schema);
    const drainDeadline = performance.now() + Math.max(120_000, N * 2);
    let succeeded = 0;
    while (succeeded < N) {
      for (const p of procs) p.assertAlive();
      if (performance.now() > drainDeadline) throw new Error(`drain timed out: ${JSON.stringify(await countByState(db))}`);
      if (left > 0) left = await readyCount(redis, prefix);
      if (left === 0) succeeded = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE state = 'succeeded'`)).rows[0]!.n;
      bar.update(left > 0 ? N - left : succeeded);
      await sleep(left > 0 ? 50 : 20);
    }
    const wallMs = performance.now() - t;
    const cpuAfter = await cpuSnapshot(procs, db, schema);
    const check = (
      await db.query<{ total: number; succeeded: number; reattempted: number; first_start: string; last_finish: string }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE state = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE attempt <> 1)::int AS reattempted, min(started_at) AS first_start, max(finished_at) AS last_finish
         FROM jobs`,
      )
    ).rows[0]!;
    if (check.total !== N || check.succeeded !== N || check.reattempted !== 0) throw new Error(`drain check failed: ${JSON.stringify(check)}`);
    const drainMs = Number(check.last_finish) - Number(check.first_start);
    const drainPerSec = N / (drainMs / 1000);
    const perWorker = (
      await db.query<{ jobs: number; first_start: string; last_finish: string }>(
        `SELECT count(*)::int AS jobs, min(started_at) AS first_start, max(finished_at) AS last_finish FROM jobs GROUP BY worker_id ORDER BY 2`,
      )
    ).rows.map((r) => ({ jobs: r.jobs, startsAfterMs: Number(r.first_start) - Number(check.first_start), lastFinishMs: Number(r.last_finish) - Number(check.first_start) }));

    // 3. Enqueue-to-start latency, one job at a time, on the idle cluster.
    bar.update(0, { phase: 'latency' });
    bar.setTotal(s.latencyJobs);
    const latencies: number[] = [];
    const submits: number[] = [];
    for (let i = 0; i < s.latencyJobs; i++) {
      const t0 = performance.now();
      const job = (await api('/v1/jobs', '{"type":"probe"}')) as { id: string };
      submits.push(performance.now() - t0);
      const at = early.get(job.id) ?? (await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`probe ${job.id} did not start within 10 s`)), 10_000);
        arrivals.set(job.id, (v) => (clearTimeout(timer), resolve(v)));
      }));
      arrivals.delete(job.id);
      early.delete(job.id);
      latencies.push(at - t0);
      await sleep(5); // let the completion land: measure an idle system
      bar.update(i + 1);
    }
    bar.stop();
    latencies.sort((a, b) => a - b);
    submits.sort((a, b) => a - b);

    // A backend publishes its table statistics when it ends: stop the cluster, then read them.
    await Promise.all(procs.map((p) => p.stop()));
    const tableAfter = await tableStats(db);
    const updates = tableAfter.n_tup_upd - tableBefore.n_tup_upd;
    return {
      enqueuePerSec,
      drainPerSec,
      latencyP50Ms: percentile(latencies, 0.5),
      latencyP99Ms: percentile(latencies, 0.99),
      details: {
        drainMs,
        // Of the latency: the HTTP submit alone (request sent to 201 received).
        submitP50Ms: +percentile(submits, 0.5).toFixed(3),
        submitP99Ms: +percentile(submits, 0.99).toFixed(3),
        drainWallMsFromSpawn: Math.round(wallMs),
        perWorker,
        // Drain and latency probes together (each probe is one job more).
        jobsTableUpdates: { updates, hot: tableAfter.n_tup_hot_upd - tableBefore.n_tup_hot_upd, perJob: +(updates / (N + s.latencyJobs)).toFixed(2) },
        cpuSecondsDuringDrain: cpuDelta(cpuBefore, cpuAfter),
      },
    };
  } finally {
    agent?.destroy();
    await Promise.all(procs.map((p) => p.stop()));
    probes.close();
    await db.end().catch(() => {});
    await adminQuery(s.databaseUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err) => console.error(`could not drop schema ${schema}:`, err));
    await deleteKeys(redis, prefix).catch((err) => console.error(`could not delete Redis keys ${prefix}*:`, err));
    redis.disconnect();
  }
}

/** A Docket process: its JSON log lines are kept (the last 200) for waiting on and for errors. */
export class Proc {
  readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly watchers = new Set<(line: Record<string, unknown>) => void>();
  private exited: number | null | undefined;
  private readonly exit: Promise<void>;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => ((this.exited = code ?? (signal ? -1 : 0)), resolve())));
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.lines.push(line);
        if (ECHO && line.includes(ECHO)) process.stderr.write(`[${this.name}] ${line}\n`);
        if (this.lines.length > 200) this.lines.shift();
        if (line.startsWith('{')) {
          try {
            const record = JSON.parse(line) as Record<string, unknown>;
            for (const w of this.watchers) w(record);
          } catch {
            // not a log record
          }
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
  }

  get pid(): number {
    return this.child.pid!;
  }

  waitForLog(match: (record: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, record?: Record<string, unknown>) => {
        clearTimeout(timer);
        this.watchers.delete(watcher);
        clearInterval(alive);
        if (err) reject(err);
        else resolve(record!);
      };
      const watcher = (record: Record<string, unknown>) => match(record) && done(null, record);
      const timer = setTimeout(() => done(new Error(`${this.name}: no such log line within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
      const alive = setInterval(() => {
        if (this.exited !== undefined) done(new Error(`${this.name} exited with ${this.exited}\n${this.tail()}`));
      }, 50);
      this.watchers.add(watcher);
    });
  }

  assertAlive(): void {
    if (this.exited !== undefined) throw new Error(`${this.name} exited with ${this.exited}\n${this.tail()}`);
  }

  /** SIGTERM (a graceful shutdown, which also writes a --cpu-prof profile), SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exit;
    clearTimeout(timer);
  }

  private tail(): string {
    return this.lines.slice(-30).join('\n');
  }
}

interface CpuSnapshot {
  procs: Record<string, number>;
  /** Of procs: the kernel's part (system time). */
  system: Record<string, number>;
  /** PostgreSQL backends serving this run, by pid, with whom they serve (server or worker). */
  backends: Map<number, { role: string; seconds: number }>;
  /** The server's shared processes (WAL writer, checkpointer...) and Redis. */
  shared: Record<string, number>;
  /** Whole machine, from /proc/stat: busy and total seconds (all cores). */
  machine: { busy: number; total: number };
}

const TICK = 100; // USER_HZ on Linux

function cpuOfPid(pid: number | string): { comm: string; seconds: number; system: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICK, system: Number(fields[12]) / TICK };
  } catch {
    return null;
  }
}

async function cpuSnapshot(procs: readonly Proc[], db: pg.Client, applicationName: string): Promise<CpuSnapshot> {
  const { rows } = await db.query<{ pid: number; role: string | null; kind: string }>(
    `SELECT pid, CASE WHEN starts_with(application_name, $1) THEN substr(application_name, length($1) + 1) END AS role,
       backend_type AS kind
     FROM pg_stat_activity WHERE starts_with(application_name, $1) OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
    [`${applicationName}:`],
  );
  const backends = new Map<number, { role: string; seconds: number }>();
  const shared: Record<string, number> = {};
  for (const r of rows) {
    const c = cpuOfPid(r.pid);
    if (!c) continue;
    if (r.role !== null) backends.set(r.pid, { role: r.role, seconds: c.seconds });
    else shared[`postgres ${r.kind}`] = (shared[`postgres ${r.kind}`] ?? 0) + c.seconds;
  }
  try {
    for (const pid of readdirSync('/proc')) {
      const c = /^\d+$/.test(pid) ? cpuOfPid(pid) : null;
      if (c?.comm.startsWith('redis-server')) shared.redis = (shared.redis ?? 0) + c.seconds;
    }
  } catch {
    // no /proc: no CPU figures
  }
  let machine = { busy: 0, total: 0 };
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    const idle = cpu[3]! + (cpu[4] ?? 0);
    machine = { busy: (total - idle) / TICK, total: total / TICK };
  } catch {
    // idem
  }
  const own = procs.map((p) => [p.name, cpuOfPid(p.pid)] as const);
  return {
    procs: Object.fromEntries(own.map(([name, c]) => [name, c?.seconds ?? 0])),
    system: Object.fromEntries(own.map(([name, c]) => [name, c?.system ?? 0])),
    backends,
    shared,
    machine,
  };
}

function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.procs)) out[k] = +(v - (a.procs[k] ?? 0)).toFixed(2);
  for (const [k, v] of Object.entries(b.system)) out[`${k} (system)`] = +(v - (a.system[k] ?? 0)).toFixed(2);
  // Backends opened in between count from 0 (their start-up included); ones closed in between are missed.
  const byRole: Record<string, number> = {};
  for (const [pid, v] of b.backends) byRole[v.role] = (byRole[v.role] ?? 0) + v.seconds - (a.backends.get(pid)?.seconds ?? 0);
  out['postgres backends'] = +Object.values(byRole).reduce((x, y) => x + y, 0).toFixed(2);
  for (const [role, v] of Object.entries(byRole)) out[`postgres backends (${role})`] = +v.toFixed(2);
  for (const [k, v] of Object.entries(b.shared)) out[k] = +(v - (a.shared[k] ?? 0)).toFixed(2);
  out['machine busy'] = +(b.machine.busy - a.machine.busy).toFixed(2);
  out['machine total'] = +(b.machine.total - a.machine.total).toFixed(2);
  return out;
}

async function tableStats(db: pg.Client): Promise<{ n_tup_upd: number; n_tup_hot_upd: number }> {
  const { rows } = await db.query<{ n_tup_upd: string; n_tup_hot_upd: string }>(
    `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'jobs'`,
  );
  return { n_tup_upd: Number(rows[0]?.n_tup_upd ?? 0), n_tup_hot_upd: Number(rows[0]?.n_tup_hot_upd ?? 0) };
}

async function countByState(db: pg.Client): Promise<Record<string, number>> {
  const { rows } = await db.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM jobs GROUP BY state');
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** One statement on a short-lived connection of its own. */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Ready jobs of the `default` queue, as the Redis dispatch index counts them. */
export function readyCount(redis: Redis, prefix: string): Promise<number> {
  return new RedisDispatch({ redis, prefix, clock: new SystemClock() }).readyCount('default');
}

/**
 * POSTs `body` as JSON with a bearer token over `agent` and returns the parsed reply, which must
 * have the status `expect` (201 Created unless told). node:http on a kept-alive connection: lighter than fetch(), whose own cost would
 * count in the latency figures.
 */
export function postCreated(url: URL, path: string, body: string, token: string, agent: Agent, expect = 201): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = request({ host: url.hostname, port: url.port, path, method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== expect) reject(new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 500)}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** SCAN + UNLINK under the prefix: never FLUSHALL, the server is shared. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
