/**
 * The scale scenario (issue 20), Docket only, each part against the system's own setup:
 *
 * 1. fleet: a `docket server` process without its worker (production: api and scheduler; embedded:
 *    its own SQLite file), lease and heartbeat timeout 90 s, so that the interval the server tells
 *    workers (a third of it) is 30 s. `workers` HTTP workers register, then heartbeat every 30 s,
 *    spread evenly; `polls` of them hold long-poll claims (`POST /v1/claims`, waitMs 30 s),
 *    completing what they get and claiming again. After a warm-up, jobs are submitted one by one
 *    (`POST /v1/jobs`) at `rate` per s for `seconds`. Measured over that window: the server
 *    process's CPU (/proc/<pid>/stat) in cores, heartbeat latency (requests sent in the window),
 *    submit-to-claim (the claim reply received minus the submit sent, per job, matched by payload),
 *    and at the end the workers the server lists as lost (all of them heartbeat: each is wrongly
 *    lost). One undici Agent, a connection per long-poll plus a fifth of the workers (at least
 *    256: room for the heartbeats in flight while each takes up to 0.6 s), all to 127.0.0.1.
 * 2. tenants: one tenant's `tenants × per` jobs in `default`, drained by the system's workers,
 *    then `tenants` tenants × `per` jobs in the same queue: the drain rate of each (starts over the
 *    span from the first start to the last), and the rank of each tenant's first start.
 * 3. queues: the same with one queue against `queues` queues × `per` jobs, one worker serving
 *    all of those queues.
 * 4. priority after a resume: workers serving two queues, taking jobs (a first probe went
 *    through); a paused queue gets `smallBacklog`
 *    priority-5 no-op jobs, is resumed, and a priority-1 probe is submitted right after: its
 *    start delay (from before its submit to its handler's first line). Then the same with
 *    `backlog` jobs in the other queue. Both backlogs are submitted while the queue is paused.
 *
 * Every loop is bounded: by the window's deadline, a job count, or a timeout.
 */
import { setMaxListeners } from 'node:events';
import { Agent, request } from 'undici';
import type { Role } from '../../src/auth/roles.js';
import type { RemoteServer } from '../docket/remote.js';
import type { Start } from '../docket/embedded.js';
import { cpuSeconds } from '../cpu.js';
import type { Bar } from '../progress.js';
import { sleep } from '../proc-stats.js';
import { percentile, sortedCopy } from '../report.js';
import type { Signals } from '../signals.js';
import type { TenantSystem, WorkerSetup } from './fairness.js';
import { waitDrained } from './measure.js';

export interface ScaleSystem extends TenantSystem {
  /** A server process without a worker, with this lease and heartbeat timeout, for HTTP workers. */
  remoteServer(leaseMs: number): Promise<RemoteServer>;
  setPaused(queue: string, paused: boolean): Promise<void>;
}

export interface ScaleOptions {
  workers: number;
  polls: number;
  rate: number;
  seconds: number;
  tenants: number;
  queues: number;
  /** Jobs per tenant and per queue. */
  per: number;
  backlog: number;
  smallBacklog: number;
  /** Which parts run. */
  parts: readonly ScalePart[];
}

export const SCALE_PARTS = ['fleet', 'tenants', 'queues', 'priority'] as const;
export type ScalePart = (typeof SCALE_PARTS)[number];

export const SCALE_DEFAULTS: ScaleOptions = { parts: SCALE_PARTS, workers: 10_000, polls: 2000, rate: 50, seconds: 60, tenants: 1000, queues: 1000, per: 50, backlog: 100_000, smallBacklog: 10_000 };

/** Heartbeat interval, lease and heartbeat timeout, long-poll wait, warm-up. */
const HEARTBEAT_MS = 30_000;
const LEASE_MS = 3 * HEARTBEAT_MS;
const WAIT_MS = 30_000;
const WARMUP_MS = 5000;
/** After the window: how long claims of its last jobs may still take. */
const GRACE_MS = 15_000;
const QUEUE = 'scale';

export interface FleetResult {
  workers: number;
  polls: number;
  ratePerSec: number;
  seconds: number;
  registerSeconds: number;
  /** Submits accepted (201), and those that failed (with the first failure's message). */
  submitted: number;
  submitErrors: number;
  firstSubmitError?: string;
  claimed: number;
  serverCores: number;
  /** The benchmark process (the load generator) over the same window. */
  loadGeneratorCores: number;
  heartbeats: number;
  heartbeatErrors: number;
  heartbeatP50Ms: number;
  heartbeatP99Ms: number;
  heartbeatMaxMs: number;
  submitToClaimP50Ms: number;
  submitToClaimP99Ms: number;
  submitToClaimMaxMs: number;
  /** The submit's own round trip (POST /v1/jobs), a part of submit-to-claim. */
  submitP50Ms: number;
  submitP99Ms: number;
  claimErrors: number;
  wronglyLost: number;
}

export interface DrainComparison {
  groups: number;
  per: number;
  /** Jobs/s of the one-group run and the many-group run, from their start times. */
  oneGroupPerSec: number;
  manyGroupsPerSec: number;
  drainRatio: number;
  /** The largest rank (1-based, in start order) of a group's first start; the target is ≤ 2 × groups. */
  lastFirstStartRank: number;
  groupsStarted: number;
}

export interface PriorityResult {
  backlog: number;
  smallBacklog: number;
  delayMs: number;
  smallDelayMs: number;
  delayRatio: number;
}

export interface ScaleResult {
  fleet: FleetResult;
  tenants: DrainComparison;
  queues: DrainComparison;
  priority: PriorityResult;
}

/** Part 1, in a setup of its own (its leftover claims must not count as the drains' backlog). */
export async function scaleFleet(system: ScaleSystem, o: ScaleOptions, bar: Bar): Promise<FleetResult> {
  return fleet(await system.remoteServer(LEASE_MS), o, bar);
}

/** Parts 2 to 4, in one setup. */
export async function scaleDrains(system: ScaleSystem, signals: Signals, o: ScaleOptions, bar: Bar): Promise<Partial<ScaleResult>> {
  const out: Partial<ScaleResult> = {};
  const tenantIds = Array.from({ length: o.tenants }, (_, i) => `t-${i}`);
  if (o.parts.includes('tenants')) out.tenants = await compare(system, signals, bar, 'tenants', o.tenants, o.per, (s) => s.tenant, {
    one: { submit: () => system.submitAs('solo', marks(o.tenants * o.per, 'default')), setup: {}, select: (s) => s.tenant === 'solo' },
    many: {
      submit: async () => {
        for (const t of tenantIds) await system.submitAs(t, marks(o.per, 'default'));
      },
      setup: {},
      select: (s) => s.tenant.startsWith('t-'),
    },
  });
  const queueNames = Array.from({ length: o.queues }, (_, i) => `q-${i}`);
  if (o.parts.includes('queues')) out.queues = await compare(system, signals, bar, 'queues', o.queues, o.per, (s) => s.queue, {
    one: { submit: () => system.submitAs('bench', marks(o.queues * o.per, 'q-solo')), setup: { queues: ['q-solo'] }, select: (s) => s.queue === 'q-solo' },
    // Queue after queue, each one's jobs together: the order a list-order dispatch serves worst.
    many: { submit: () => system.submitAs('bench', queueNames.flatMap((q) => marks(o.per, q))), setup: { queues: queueNames }, select: (s) => s.queue.startsWith('q-') && s.queue !== 'q-solo' },
  });
  if (o.parts.includes('priority')) out.priority = await priorityAfterResume(system, signals, o, bar);
  return out;
}

const marks = (n: number, queue: string) => Array.from({ length: n }, () => ({ type: 'mark', queue }));

// ---- 1. fleet --------------------------------------------------------------------------------

interface Http {
  call(method: 'GET' | 'POST', path: string, token: string, body?: unknown, signal?: AbortSignal): Promise<any>;
}

function http(origin: string, agent: Agent): Http {
  return {
    async call(method, path, token, body, signal) {
      const res = await request(`${origin}${path}`, {
        dispatcher: agent,
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
      return text ? JSON.parse(text) : null;
    },
  };
}

async function fleet(server: RemoteServer, o: ScaleOptions, bar: Bar): Promise<FleetResult> {
  const agent = new Agent({ connections: o.polls + Math.max(256, Math.ceil(o.workers / 5)), keepAliveTimeout: 2 * WAIT_MS, keepAliveMaxTimeout: 2 * WAIT_MS, headersTimeout: 2 * WAIT_MS, bodyTimeout: 2 * WAIT_MS });
  const api = http(server.url.origin, agent);
  const token = (roles: Role[]) => server.token(roles, 'bench');
  const [workerToken, submitToken, adminToken] = await Promise.all([token(['cluster-worker']), token(['submitter']), token(['admin'])]);
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  let stopped = false;
  const abort = new AbortController();
  // Every long-poll listens on it.
  setMaxListeners(0, abort.signal);
  let ticker: NodeJS.Timeout | null = null;
  try {
    // Register, 32 at a time.
    bar.start(o.workers, 0, { phase: 'scale: register' });
    const r0 = performance.now();
    const ids: string[] = new Array<string>(o.workers);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < o.workers; i = next++) {
          ids[i] = ((await api.call('POST', '/v1/workers', workerToken, { queues: [QUEUE], name: `scale-${i}` })) as { id: string }).id;
          if (i % 100 === 0) bar.update(i);
        }
      }),
    );
    const registerSeconds = (performance.now() - r0) / 1000;

    // Heartbeats: worker i at t0 + i × 30 s / workers, then every 30 s.
    const beats: [sentAt: number, ms: number][] = [];
    let heartbeatErrors = 0;
    const t0 = performance.now();
    let k = 0;
    const beat = async (i: number) => {
      const s = performance.now();
      try {
        await api.call('POST', `/v1/workers/${ids[i]}/heartbeat`, workerToken, { jobs: [] });
        beats.push([s, performance.now() - s]);
      } catch {
        if (!stopped) heartbeatErrors++;
      }
    };
    ticker = setInterval(() => {
      const now = performance.now();
      for (; !stopped && t0 + (k * HEARTBEAT_MS) / o.workers <= now; k++) track(beat(k % o.workers));
    }, 5);

    // Long-polls: workers 0..polls-1 claim, complete what they get, claim again.
    const claimedAt = new Map<number, number>();
    let claimErrors = 0;
    const poll = async (i: number) => {
      while (!stopped) {
        try {
          const r = (await api.call('POST', '/v1/claims', workerToken, { workerId: ids[i], queues: [QUEUE], max: 1, waitMs: WAIT_MS }, abort.signal)) as {
            jobs: { id: string; leaseToken: string; payload: { k: number } }[];
          };
          const at = performance.now();
          for (const j of r.jobs) {
            claimedAt.set(j.payload.k, at);
            await api.call('POST', `/v1/jobs/${j.id}/complete`, workerToken, { leaseToken: j.leaseToken }, abort.signal);
          }
        } catch {
          if (stopped) return;
          claimErrors++;
          await sleep(100);
        }
      }
    };
    const pollers = Array.from({ length: Math.min(o.polls, o.workers) }, (_, i) => poll(i));
    await sleep(WARMUP_MS);

    // The window: submits at `rate` per s, one request each.
    const total = Math.round(o.rate * o.seconds);
    bar.start(total, 0, { phase: 'scale: fleet window' });
    const sentAt = new Map<number, number>();
    let submitErrors = 0;
    let firstSubmitError: string | undefined;
    const submitMs: number[] = [];
    const w0 = performance.now();
    const cpu0 = cpuSeconds(server.pid);
    const own0 = cpuSeconds(process.pid);
    for (let j = 0; j < total; j++) {
      const wait = w0 + (j * 1000) / o.rate - performance.now();
      if (wait > 0) await sleep(wait);
      sentAt.set(j, performance.now());
      const sent = performance.now();
      track(
        api.call('POST', '/v1/jobs', submitToken, { type: 'scale', queue: QUEUE, payload: { k: j } }).then(
          () => void submitMs.push(performance.now() - sent),
          (err: unknown) => {
            submitErrors++;
            firstSubmitError ??= err instanceof Error ? err.message : String(err);
          },
        ),
      );
      bar.update(j + 1);
    }
    const end = w0 + o.seconds * 1000;
    if (end > performance.now()) await sleep(end - performance.now());
    const w1 = performance.now();
    const serverCores = (cpuSeconds(server.pid) - cpu0) / ((w1 - w0) / 1000);
    const loadGeneratorCores = (cpuSeconds(process.pid) - own0) / ((w1 - w0) / 1000);
    for (const graceEnd = performance.now() + GRACE_MS; claimedAt.size < total - submitErrors && performance.now() < graceEnd; ) await sleep(50);

    stopped = true;
    clearInterval(ticker);
    ticker = null;
    abort.abort();
    await Promise.allSettled(pollers);
    await Promise.allSettled([...pending]);

    let wronglyLost = 0;
    let cursor: string | null = null;
    for (let page = 0; page <= Math.ceil(o.workers / 1000); page++) {
      const q: string = `/v1/workers?status=lost&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = (await api.call('GET', q, adminToken)) as { workers: unknown[]; nextCursor: string | null };
      wronglyLost += r.workers.length;
      cursor = r.nextCursor;
      if (!cursor) break;
    }

    const hb = sortedCopy(beats.filter(([s]) => s >= w0 && s < w1).map(([, ms]) => ms));
    const s2c = sortedCopy([...sentAt].filter(([j]) => claimedAt.has(j)).map(([j, s]) => claimedAt.get(j)! - s));
    // Submits that failed are not waited for; one accepted and never claimed counts as the slowest.
    const accepted = total - submitErrors;
    return {
      workers: o.workers,
      polls: pollers.length,
      ratePerSec: o.rate,
      seconds: o.seconds,
      registerSeconds,
      submitted: total - submitErrors,
      submitErrors,
      ...(firstSubmitError ? { firstSubmitError } : {}),
      claimed: s2c.length,
      serverCores,
      loadGeneratorCores,
      heartbeats: hb.length,
      heartbeatErrors,
      heartbeatP50Ms: percentile(hb, 0.5),
      heartbeatP99Ms: percentile(hb, 0.99),
      heartbeatMaxMs: hb.at(-1) ?? NaN,
      // A job never claimed counts as the slowest: the percentiles must not hide it.
      submitToClaimP50Ms: s2c.length >= accepted ? percentile(s2c, 0.5) : percentile([...s2c, ...Array<number>(Math.max(0, accepted - s2c.length)).fill(Infinity)], 0.5),
      submitToClaimP99Ms: s2c.length >= accepted ? percentile(s2c, 0.99) : percentile([...s2c, ...Array<number>(Math.max(0, accepted - s2c.length)).fill(Infinity)], 0.99),
      submitToClaimMaxMs: s2c.length >= accepted ? s2c.at(-1)! : Infinity,
      submitP50Ms: percentile(sortedCopy(submitMs), 0.5),
      submitP99Ms: percentile(sortedCopy(submitMs), 0.99),
      claimErrors,
      wronglyLost,
    };
  } finally {
    stopped = true;
    if (ticker) clearInterval(ticker);
    abort.abort();
    await agent.destroy().catch(() => {});
  }
}

// ---- 2 and 3. tenants and queues -----------------------------------------------------------

interface DrainRun {
  submit: () => Promise<void>;
  setup: WorkerSetup;
  select: (s: Start) => boolean;
}

async function compare(
  system: ScaleSystem,
  signals: Signals,
  bar: Bar,
  what: string,
  groups: number,
  per: number,
  groupOf: (s: Start) => string,
  runs: { one: DrainRun; many: DrainRun },
): Promise<DrainComparison> {
  const n = groups * per;
  const one = await drainRun(system, signals, bar, `scale: one of ${what}`, n, runs.one);
  const many = await drainRun(system, signals, bar, `scale: ${groups} ${what}`, n, runs.many);
  // Jobs that started at the same moment share a rank (the first of them): production's
  // started_at is in ms, and one take hands out a worker's whole batch at once.
  const firstRank = new Map<string, number>();
  let tieRank = 1;
  many.forEach((s, i) => {
    if (i > 0 && s.startedAt !== many[i - 1]!.startedAt) tieRank = i + 1;
    const g = groupOf(s);
    if (!firstRank.has(g)) firstRank.set(g, tieRank);
  });
  const oneGroupPerSec = rate(one);
  const manyGroupsPerSec = rate(many);
  return {
    groups,
    per,
    oneGroupPerSec,
    manyGroupsPerSec,
    drainRatio: manyGroupsPerSec / oneGroupPerSec,
    lastFirstStartRank: firstRank.size === groups ? Math.max(...firstRank.values()) : Infinity,
    groupsStarted: firstRank.size,
  };
}

/** Submit the backlog with no worker running, then drain it: its starts, in start order. */
async function drainRun(system: ScaleSystem, signals: Signals, bar: Bar, phase: string, n: number, run: DrainRun): Promise<Start[]> {
  bar.start(n, 0, { phase });
  await run.submit();
  await system.startWorkers(run.setup);
  await waitDrained(system, signals, n, bar, Math.max(300_000, n * 10));
  await system.stopWorkers();
  const starts = (await system.starts('mark')).filter(run.select).sort((a, b) => a.startedAt - b.startedAt);
  if (starts.length !== n) throw new Error(`${phase}: ${starts.length} of ${n} jobs started`);
  return starts;
}

/** Jobs/s from the first start to the last. */
const rate = (starts: Start[]) => (starts.length - 1) / Math.max(0.001, (starts.at(-1)!.startedAt - starts[0]!.startedAt) / 1000);

// ---- 4. priority after a resume --------------------------------------------------------------

async function priorityAfterResume(system: ScaleSystem, signals: Signals, o: ScaleOptions, bar: Bar): Promise<PriorityResult> {
  const queues = ['bk-small', 'bk-big'];
  await system.setPaused('bk-big', true);
  await system.startWorkers({ queues });
  // The workers must be taking jobs (a worker process takes seconds to start): one probe through the open queue.
  await probeAfterResume(system, signals, 'bk-small', 0, bar);
  await system.setPaused('bk-small', true);
  const smallDelayMs = await probeAfterResume(system, signals, 'bk-small', o.smallBacklog, bar);
  // The small backlog drains before the big one is queued: only one backlog at a time.
  await waitDrained(system, signals, o.smallBacklog + 1, bar, Math.max(300_000, o.smallBacklog * 10));
  const delayMs = await probeAfterResume(system, signals, 'bk-big', o.backlog, bar);
  await system.stopWorkers();
  return { backlog: o.backlog, smallBacklog: o.smallBacklog, delayMs, smallDelayMs, delayRatio: delayMs / smallDelayMs };
}

let probes = 0;

async function probeAfterResume(system: ScaleSystem, signals: Signals, queue: string, backlog: number, bar: Bar): Promise<number> {
  bar.start(backlog, 0, { phase: `scale: ${backlog} queued in paused ${queue}` });
  const chunk = 10_000;
  for (let i = 0; i < backlog; i += chunk) {
    await system.submitAs('bench', Array.from({ length: Math.min(chunk, backlog - i) }, () => ({ type: 'noop', queue, priority: 5 })));
    bar.update(Math.min(backlog, i + chunk));
  }
  await system.setPaused(queue, false);
  const key = `scale-${process.pid}-${++probes}`;
  const t0 = performance.now();
  const arrival = signals.arrival(key, 120_000);
  await system.submitAs('bench', [{ type: 'probe', queue, priority: 1, payload: { k: key } }]);
  return (await arrival) - t0;
}
