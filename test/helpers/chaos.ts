// The chaos run shared by test/chaos.test.ts (one round of every fault, in `npm test`) and the soak
// (scripts/soak.mjs: the same faults on a loop for N minutes). A Docket cluster on engines the run
// owns (test/helpers/private-engines.ts): two api+scheduler processes, two worker processes,
// continuous submits and an every-second cron schedule, while the faults below are injected one after
// another. The report says what a user would check afterwards; the callers assert on it.
import { randomUUID } from 'node:crypto';
import { admin, clusterEnv, executions, HANDLERS, jobs, leads, LEASE_MS, sql, start, startLine, untilAllFinished, type Cluster, type Execution, type Proc, type Server } from './cluster.js';
import { UNHANDLED_REJECTION } from '../../src/interfaces/cli/process-errors.js';
import { freePort } from './process.js';
import { pause, until } from './process.js';
import { call, openPrivateCluster, type Reply } from './private-cluster.js';
import type { PrivateKafka, PrivatePostgres, PrivateRedis } from './private-engines.js';

export const FAULTS = ['postgres-crash', 'redis-stop', 'redis-flushall', 'kill-leader', 'kafka-stop', 'kill-worker', 'stop-worker', 'postgres-crash'] as const;
export type Fault = (typeof FAULTS)[number];
const TOPIC_PREFIX = 'chaos.';

export interface ChaosOptions {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  /** A broker to publish events to, stop and start; absent: no Kafka (and no kafka-stop fault). */
  kafka?: PrivateKafka;
  /** The Docket cluster's database name on the private PostgreSQL. */
  name: string;
  /** Rounds of FAULTS. @defaultValue 1 */
  rounds?: number;
  /** Stop starting rounds after this long (ms), whatever `rounds` says. @defaultValue no limit */
  forMs?: number;
  log?: (line: string) => void;
}

export interface Duplicate {
  id: string;
  executions: number;
  leaseLosses: number;
  explanation: string | null;
  /** The runs (attempt, lease, start), for a report of an unexplained one. */
  runs?: string[];
}

export interface ChaosReport {
  durationMs: number;
  rounds: number;
  faults: Record<string, number>;
  /** Submits answered 201, and every reply by status (0: no answer, e.g. from a killed process). */
  acknowledged: number;
  replies: Record<string, number>;
  /** Acknowledged jobs that did not end `succeeded` (id: state). */
  notSucceeded: string[];
  executions: number;
  duplicates: Duplicate[];
  unexplained: Duplicate[];
  cron: { ticks: number; duplicateTicks: string[]; missingTicks: string[] };
  /** Job events read from the event log in position order, and the jobs whose events are not complete and in order. */
  events: { checked: number; jobs: number; broken: string[] };
  /** The same check on the job-events topic once the relay caught up (null: no Kafka). */
  kafka: { checked: number; jobs: number; broken: string[]; republished: number } | null;
  /** Processes that exited without being killed by the run, each with how and why. */
  died: Death[];
  /** Every 5xx reply was a 503 with Retry-After. */
  badServerErrors: string[];
  /** Unhandled promise rejections the processes logged (each a bug they survived): process, error. */
  unhandled: string[];
}

/** A process that exited without being killed by the run: what a user needs to find out why. */
export interface Death {
  name: string;
  pid: number;
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  /** When it exited (ISO time). */
  at: string;
  /** The faults injected in the minute before (name, start and end relative to the death). */
  faultsBefore: string[];
  /** The end of its stderr, where Node prints an uncaught exception or unhandled rejection. */
  stderr: string;
  /** Its last log lines (stdout and stderr). */
  lastLines: string[];
}

interface Running {
  servers: Server[];
  workers: Proc[];
  killed: Set<Proc>;
  all: Proc[];
  serial: number;
  /** When PostgreSQL was crashed: from just before `pg_ctl stop -m immediate` to its return. */
  crashes: { from: number; to: number }[];
  /** Every process's extra environment (Kafka). */
  env: Record<string, string>;
  /** Each fault injected, from its start to its end (null: still going on). */
  faultLog: { fault: Fault; from: number; to: number | null }[];
  log: (line: string) => void;
  /** The run is over: its processes are killed by the caller's cleanup, not dying. */
  over: boolean;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const c = await openPrivateCluster(opts.pg, opts.redis, opts.name);
  const env: Record<string, string> = opts.kafka ? { DOCKET_KAFKA_BROKERS: opts.kafka.brokers, DOCKET_KAFKA_TOPIC_PREFIX: TOPIC_PREFIX } : {};
  const run: Running = { servers: [], workers: [], killed: new Set(), all: [], serial: 0, crashes: [], env, faultLog: [], log, over: false };
  try {
    run.servers = await Promise.all([0, 1].map((i) => startServer(c, `api-${i}`, run.env)));
    run.workers = await Promise.all([0, 1].map((i) => startWorker(c, `worker-${i}`, { env: run.env })));
    for (const p of [...run.servers, ...run.workers]) watch(p, run);
    run.serial = 2;

    const schedule = await until('the cron schedule to be created', async () => {
      const r = await call(run.servers[0]!.url, admin.token, 'POST', '/v1/schedules', {
        name: 'every-second',
        cron: '* * * * * *',
        overlap: 'allow',
        catchUp: 'all',
        catchUpLimit: 1000,
        job: { type: 'work', payload: { cron: true } },
      });
      return r.status === 201 ? (r.body as { id: string }) : undefined;
    });

    const load = submitter(() => run.servers);
    await load.acknowledgedMore(50);
    const faults: Record<string, number> = {};
    let rounds = 0;
    const wanted = opts.rounds ?? 1;
    while (rounds < wanted && (opts.forMs === undefined || Date.now() - t0 < opts.forMs)) {
      for (const fault of FAULTS) {
        if (fault === 'kafka-stop' && !opts.kafka) continue;
        log(`round ${rounds + 1}: ${fault}`);
        const entry: Running['faultLog'][number] = { fault, from: Date.now(), to: null };
        run.faultLog.push(entry);
        await inject(fault, c, run, opts);
        entry.to = Date.now();
        faults[fault] = (faults[fault] ?? 0) + 1;
        // The cluster serves again: submits are acknowledged after the fault.
        await load.acknowledgedMore(20, 60_000);
      }
      rounds++;
    }
    await load.stop();
    await until('the schedule to be deleted', async () => ((await call(run.servers[0]!.url, admin.token, 'DELETE', `/v1/schedules/${schedule.id}`)).status === 204 ? true : undefined));
    await untilAllFinished(c, 120_000);

    const rows = await jobs(c);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const notSucceeded = [...load.acked].filter((id) => byId.get(id)?.state !== 'succeeded').map((id) => `${id}: ${byId.get(id)?.state ?? 'missing'}`);
    const execs = executions(c);
    const duplicates = await explainDuplicates(c, execs, run.crashes);
    const cron = await cronTicks(c, schedule.id);
    const events = await checkEventLog(c, [...load.acked]);
    const kafka = opts.kafka ? await checkKafka(c, opts.kafka, [...load.acked]) : null;
    const replies: Record<string, number> = {};
    for (const r of load.replies) replies[r.status] = (replies[r.status] ?? 0) + 1;
    const badServerErrors = load.replies.filter((r) => r.status >= 500 && (r.status !== 503 || !(Number(r.headers.get('retry-after')) > 0))).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
    return {
      durationMs: Date.now() - t0,
      rounds,
      faults,
      acknowledged: load.acked.size,
      replies,
      notSucceeded,
      executions: execs.length,
      duplicates,
      unexplained: duplicates.filter((d) => d.explanation === null),
      cron,
      events,
      kafka,
      died: run.all.filter((p) => !run.killed.has(p) && p.exit() !== null).map((p) => death(p, run)),
      badServerErrors,
      unhandled: run.all.flatMap((p) => p.logs().filter((l) => l.msg === UNHANDLED_REJECTION).map((l) => `${p.name}: ${JSON.stringify(l.err)}`)),
    };
  } finally {
    run.over = true;
    c.remove();
  }
}

async function inject(fault: Fault, c: Cluster, run: Running, opts: ChaosOptions): Promise<void> {
  switch (fault) {
    case 'postgres-crash': {
      const from = Date.now();
      await opts.pg.stop();
      run.crashes.push({ from, to: Date.now() });
      await opts.pg.start();
      return;
    }
    case 'redis-stop':
      await opts.redis.stop();
      // The outage itself: long enough for every client to notice and retry (reconnects every 0.5 s).
      await pause(3000);
      await opts.redis.start();
      return;
    case 'kafka-stop':
      // Controlled shutdown, down for a while under load (the relay keeps failing and retrying), then back.
      await opts.kafka!.stop();
      await pause(5000);
      await opts.kafka!.start();
      return;
    case 'redis-flushall':
      await opts.redis.flushAll();
      return;
    case 'kill-leader': {
      const flags = await until('a leader', async () => {
        const f = await Promise.all(run.servers.map(leads));
        return f.includes(true) ? f : undefined;
      }, 30_000);
      const leader = run.servers[flags.indexOf(true)]!;
      await killAndReplace(leader, run, () => startServer(c, `api-${run.serial++}`, run.env), run.servers);
      await until('another leader', async () => ((await Promise.all(run.servers.map(leads))).filter((l) => l === true).length === 1 ? true : undefined), 30_000);
      return;
    }
    case 'kill-worker':
      await killAndReplace(run.workers[0]!, run, () => startWorker(c, `worker-${run.serial++}`, { env: run.env }), run.workers);
      return;
    case 'stop-worker': {
      const w = run.workers[run.workers.length - 1]!;
      w.child.kill('SIGSTOP');
      // Past its lease: the reaper gives its jobs to other workers; when it wakes, its acknowledgements are refused.
      await pause(LEASE_MS * 3);
      w.child.kill('SIGCONT');
      return;
    }
  }
}

/**
 * Like cluster.ts's startServer/startWorker, with a longer wait for the start-up line: a replacement
 * starts while the cluster is loaded and the machine shared (one took over 20 s in a soak).
 */
const START_MS = 90_000;

async function startServer(c: Cluster, name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const proc = start(name, ['server', '--role', 'api,scheduler', '--no-worker'], clusterEnv(c, { ...env, PORT: String(port) }));
  const line = await startLine(proc, START_MS).catch((err: Error) => Promise.reject(new Error(`${err.message}; its output:\n${proc.output().slice(-3000)}`)));
  return { ...proc, url: `http://127.0.0.1:${port}`, startedAsLeader: line.leader === true };
}

async function startWorker(c: Cluster, name: string, { env }: { env: Record<string, string> }): Promise<Proc> {
  const proc = start(name, ['server', '--role', 'worker', '--handlers', HANDLERS, '--queues', 'default', '--concurrency', '10'], clusterEnv(c, env));
  await startLine(proc, START_MS).catch((err: Error) => Promise.reject(new Error(`${err.message}; its output:\n${proc.output().slice(-3000)}`)));
  return proc;
}

async function killAndReplace<P extends Proc>(victim: P, run: Running, replacement: () => Promise<P>, list: P[]): Promise<void> {
  run.killed.add(victim);
  victim.child.kill('SIGKILL');
  await victim.exited;
  const next = await replacement();
  list.splice(list.indexOf(victim), 1, next);
  watch(next, run);
}

/** Counts `p` in the run, and says at once when it exits without being killed (the report says how and why). */
function watch(p: Proc, run: Running): void {
  run.all.push(p);
  void p.exited.then(() => {
    if (run.killed.has(p) || run.over) return;
    const d = death(p, run);
    run.log(`${d.name} (pid ${d.pid}) DIED: ${d.signal ? `signal ${d.signal}` : `exit code ${d.code}`}; stderr: ${d.stderr.slice(-500) || '(empty)'}`);
  });
}

function death(p: Proc, run: Running): Death {
  const exit = p.exit()!;
  const since = (t: number) => `${((t - exit.at) / 1000).toFixed(1)} s`;
  return {
    name: p.name,
    pid: p.child.pid ?? 0,
    code: exit.code,
    signal: exit.signal,
    at: new Date(exit.at).toISOString(),
    faultsBefore: run.faultLog
      .filter((f) => (f.to ?? exit.at) >= exit.at - 60_000 && f.from <= exit.at)
      .map((f) => `${f.fault} from ${since(f.from)} to ${f.to === null || f.to > exit.at ? 'after its death' : since(f.to)}`),
    stderr: p.stderr().slice(-4000),
    lastLines: p.output().trimEnd().split('\n').slice(-20),
  };
}

/** Submits one job at a time from two lanes, round robin over the live servers, until stopped. */
export function submitter(servers: () => Server[]) {
  const acked = new Set<string>();
  const replies: Reply[] = [];
  let stop = false;
  let rr = 0;
  const lane = async () => {
    // Bounded by count as well as by the caller: at most 200,000 submits per lane.
    for (let n = 0; !stop && n < 200_000; n++) {
      const live = servers();
      const s = live[rr++ % live.length]!;
      const reply = await call(s.url, admin.token, 'POST', '/v1/jobs', { type: 'work', payload: { n } }, 10_000, { 'idempotency-key': randomUUID() });
      replies.push(reply);
      if (reply.status === 201) acked.add((reply.body as { id: string }).id);
      await pause(reply.status === 201 ? 20 : 100);
    }
  };
  const running = Promise.all([lane(), lane()]);
  return {
    acked,
    replies,
    acknowledgedMore: (n: number, ms = 30_000) => {
      const target = acked.size + n;
      return until(`${n} more acknowledged submits`, () => (acked.size >= target ? true : undefined), ms);
    },
    stop: async () => {
      stop = true;
      await running;
    },
  };
}

/**
 * Jobs that ran more than once, each with its explanation, which must account for every extra run:
 * - a lease the job lost: its events show it going from running back to ready (the reaper or the
 *   worker monitor took it from a worker that stopped heartbeating);
 * - a claim lost in a PostgreSQL crash: claims commit without waiting for their WAL flush
 *   (docs/deployment.md, "When something fails"), so a crash can undo one that a worker already
 *   started. Its evidence: two runs of the same attempt under different leases, the first started
 *   within 2 s before the crash, and no event of that claim.
 */
async function explainDuplicates(c: Cluster, execs: Execution[], crashes: { from: number; to: number }[]): Promise<Duplicate[]> {
  const runs = new Map<string, Execution[]>();
  for (const e of execs) runs.set(e.id, [...(runs.get(e.id) ?? []), e]);
  const ids = [...runs].filter(([, r]) => r.length > 1).map(([id]) => id);
  if (ids.length === 0) return [];
  const events = await sql<{ id: string; state: string; prev: string | null; reason: string | null }>(
    c,
    `SELECT e->>3 AS id, e->>8 AS state, e->>9 AS prev, e->>13 AS reason
       FROM events, json_array_elements(events.events::json) AS e
      WHERE e->>0 = 'j' AND e->>3 = ANY($1)`,
    [ids],
  );
  return ids.map((id) => {
    const mine = runs.get(id)!.sort((a, b) => a.start - b.start);
    const losses = events.filter((e) => e.id === id && e.prev === 'running' && e.state === 'ready');
    const lostClaims = mine.filter(
      (r, i) =>
        mine.some((o, j) => j > i && o.attempt === r.attempt && o.lease !== r.lease) && crashes.some((k) => r.start >= k.from - 2000 && r.start <= k.to),
    ).length;
    const why = [
      losses.length > 0 ? `lease lost ${losses.length}x (${[...new Set(losses.map((e) => e.reason))].join(', ')})` : '',
      lostClaims > 0 ? `claim lost in a PostgreSQL crash ${lostClaims}x` : '',
    ].filter(Boolean);
    const explained = losses.length + lostClaims >= mine.length - 1;
    const detail = mine.map((r) => `attempt ${r.attempt} lease ${r.lease.slice(0, 8)} pid ${r.pid} at ${new Date(r.start).toISOString()}`);
    return { id, executions: mine.length, leaseLosses: losses.length, explanation: explained ? why.join(' + ') : null, ...(explained ? {} : { runs: [...detail, `crashes: ${crashes.map((k) => new Date(k.from).toISOString()).join(', ')}`] }) };
  });
}

/** Every second of the schedule's life made exactly one job (labels docket.schedule / docket.fireAt). */
async function cronTicks(c: Cluster, scheduleId: string): Promise<ChaosReport['cron']> {
  const rows = await sql<{ fire: string; n: string }>(
    c,
    `SELECT labels->>'docket.fireAt' AS fire, count(*) AS n FROM jobs WHERE labels->>'docket.schedule' = $1 GROUP BY 1 ORDER BY 1`,
    [scheduleId],
  );
  const fires = rows.map((r) => Date.parse(r.fire));
  const missingTicks: string[] = [];
  for (let i = 1; i < fires.length; i++) {
    for (let t = fires[i - 1]! + 1000; t < fires[i]!; t += 1000) missingTicks.push(new Date(t).toISOString());
  }
  return { ticks: rows.length, duplicateTicks: rows.filter((r) => Number(r.n) !== 1).map((r) => `${r.fire} x${r.n}`), missingTicks };
}

/**
 * Each acknowledged job's events in the log, in position order (the order the relay publishes them;
 * rows the relay has not positioned yet come last in seq order, the order it will give them: the
 * last jobs' rows may still be unpositioned, and sorting them by a NULL position made a correct log
 * look out of order),
 * must be its whole life: the first has no previous state, each next one starts where the one before
 * ended, the last is `succeeded`. A fault that lost or reordered an event breaks that chain.
 */
async function checkEventLog(c: Cluster, acked: string[]): Promise<ChaosReport['events']> {
  const rows = await sql<{ id: string; state: string; prev: string | null }>(
    c,
    `SELECT x.e->>3 AS id, x.e->>8 AS state, x.e->>9 AS prev
       FROM events, json_array_elements(events.events::json) WITH ORDINALITY AS x(e, i)
      WHERE x.e->>0 = 'j' ORDER BY events.pos_start NULLS LAST, events.seq, x.i`,
  );
  return checkChains(rows, acked);
}

function checkChains(rows: { id: string; state: string; prev: string | null }[], acked: string[]): ChaosReport['events'] {
  const chains = new Map<string, { state: string; prev: string | null }[]>();
  for (const r of rows) {
    let chain = chains.get(r.id);
    if (!chain) chains.set(r.id, (chain = []));
    chain.push(r);
  }
  const broken: string[] = [];
  for (const id of acked) {
    const chain = chains.get(id) ?? [];
    const ok =
      chain.length > 0 &&
      chain[0]!.prev === null &&
      chain.every((e, i) => i === 0 || e.prev === chain[i - 1]!.state) &&
      chain[chain.length - 1]!.state === 'succeeded';
    if (!ok) broken.push(`${id}: ${chain.map((e) => `${e.prev ?? '-'}>${e.state}`).join(' ')}`);
  }
  return { checked: acked.reduce((n, id) => n + (chains.get(id)?.length ?? 0), 0), jobs: acked.length, broken };
}

/**
 * Once the relay's cursor reached the end of the log, the job-events topic holds every job's events,
 * in order per job (its key): the same chain as in the log. A crash between publishing and moving
 * the cursor publishes events again with the same ids (at-least-once); those are counted and skipped,
 * as a consumer deduplicating by id does.
 */
async function checkKafka(c: Cluster, kafka: PrivateKafka, acked: string[]): Promise<NonNullable<ChaosReport['kafka']>> {
  await until('the relay to publish the whole log', async () => {
    const [r] = await sql<{ bus: string | null; last_pos: string | null; unpositioned: string }>(
      c,
      `SELECT (SELECT pos FROM event_cursors WHERE name = 'bus') AS bus, (SELECT max(pos_end) FROM events) AS last_pos,
              (SELECT count(*) FROM events WHERE pos_end IS NULL) AS unpositioned`,
    );
    return r && r.bus !== null && Number(r.unpositioned) === 0 && Number(r.bus) >= Number(r.last_pos ?? 0) ? true : undefined;
  }, 120_000, 500);
  const records = await kafka.consume(`${TOPIC_PREFIX}job-events`);
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const seen = new Set<string>();
  let republished = 0;
  const rows: { id: string; state: string; prev: string | null }[] = [];
  for (const r of records) {
    const event = JSON.parse(r.payload ?? '{}') as { id: string; data: { jobId: string; state: string; previousState: string | null } };
    if (seen.has(event.id)) {
      republished++;
      continue;
    }
    seen.add(event.id);
    rows.push({ id: event.data.jobId, state: event.data.state, prev: event.data.previousState ?? null });
  }
  return { ...checkChains(rows, acked), republished };
}
