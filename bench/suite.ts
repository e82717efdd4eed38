/**
 * The side-by-side suite (`npm run bench`): each scenario for Docket embedded, Docket
 * production, BullMQ, graphile-worker and pg-boss, in the same run, on this machine's PostgreSQL
 * and Redis. Systems run interleaved (each repeat visits every system, in a rotated order), and
 * the tables give medians over the repeats: the machine is shared and noisy.
 *
 *   npm run bench                                         # everything, 100k jobs, 3 repeats
 *   npm run bench -- --jobs 2000 --repeat 1 --systems docket-embedded,bullmq --scenarios enqueue,drain,latency
 *
 * Options: --systems (all), --scenarios enqueue,drain,latency,latency-load,memory,fairness (all),
 * --jobs N (100000: enqueue, drain, fairness's tenant-A backlog; fairness is Docket only: tenant
 * backlog, priority, weights 3:1 and priority-pool shares at fixed counts), --repeat (3), --latency (1000 idle probes; at most
 * --latency-budget s, 60, per system and repeat), --load-seconds (10) and --load-probes (50 per
 * s) for latency under load, --memory-jobs (1000000) and --memory-seconds (10) for memory (once
 * per system, not repeated), --out (bench/results), --database-url, --redis-url,
 * --config '{"bullmq":{"concurrency":50}}' (settings over each system's defaults; a system given
 * one is not swept), --worker-node-args="--cpu-prof --cpu-prof-dir=prof" (node flags of the
 * processes the systems spawn), --sweep-jobs (20000, at most --jobs) and --sweep-repeat (2) for
 * the configuration sweep before the repeats (bench/sweep.ts), --no-sweep (each system's defaults).
 * `scale` (issue 20; Docket only, once per system, not in the default list: bench/scenarios/scale.ts):
 * --scale-workers (10000), --scale-polls (2000), --scale-rate (50 submits per s), --scale-seconds
 * (60), --scale-tenants (1000), --scale-queues (1000), --scale-per (50 jobs per tenant and queue),
 * --scale-backlog (100000; the issue's target is at 1000000), --scale-small-backlog (10000) and
 * --scale-parts (fleet,tenants,queues,priority).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RunProgress } from './progress.js';
import { DOCKETS, fairnessTable, median, medians, ratioTable, resultsTable, targets, targetsTable, type Samples } from './report.js';
import { fairness, FAIRNESS_RULES, POOL_JOBS, WEIGHTED_JOBS, type FairnessResult, type TenantSystem } from './scenarios/fairness.js';
import { latencyIdle, latencyUnderLoad } from './scenarios/latency.js';
import { enqueueAll } from './scenarios/measure.js';
import { memory } from './scenarios/memory.js';
import { throughput } from './scenarios/throughput.js';
import { Signals } from './signals.js';
import { scaleTable, scaleTargets, type ScaleRecord } from './scale-report.js';
import { SCALE_DEFAULTS, SCALE_PARTS, scaleDrains, scaleFleet, type ScaleOptions, type ScaleSystem } from './scenarios/scale.js';
import { SYSTEMS, type System, type SystemName } from './system.js';
import { makeSystem } from './systems.js';
import { GRIDS, sweep } from './sweep.js';
import { settingsLabel, sweepTable, type SweepResult } from './sweep-report.js';

const SCENARIOS = ['enqueue', 'drain', 'latency', 'latency-load', 'memory', 'fairness', 'scale'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** `scale` runs only when asked for: it takes minutes per system and loads the machine. */
const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => s !== 'scale');

const { values: args } = parseArgs({
  options: {
    systems: { type: 'string', default: SYSTEMS.join(',') },
    scenarios: { type: 'string', default: DEFAULT_SCENARIOS.join(',') },
    jobs: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '3' },
    latency: { type: 'string', default: '1000' },
    'latency-budget': { type: 'string', default: '60' },
    'load-seconds': { type: 'string', default: '10' },
    'load-probes': { type: 'string', default: '50' },
    'memory-jobs': { type: 'string', default: '1000000' },
    'memory-seconds': { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/results' },
    'database-url': { type: 'string', default: process.env.DOCKET_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: process.env.DOCKET_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    config: { type: 'string', default: '{}' },
    'worker-node-args': { type: 'string', default: '' },
    'no-sweep': { type: 'boolean', default: false },
    'sweep-jobs': { type: 'string', default: '20000' },
    'sweep-repeat': { type: 'string', default: '2' },
    'scale-workers': { type: 'string', default: String(SCALE_DEFAULTS.workers) },
    'scale-polls': { type: 'string', default: String(SCALE_DEFAULTS.polls) },
    'scale-rate': { type: 'string', default: String(SCALE_DEFAULTS.rate) },
    'scale-seconds': { type: 'string', default: String(SCALE_DEFAULTS.seconds) },
    'scale-tenants': { type: 'string', default: String(SCALE_DEFAULTS.tenants) },
    'scale-queues': { type: 'string', default: String(SCALE_DEFAULTS.queues) },
    'scale-per': { type: 'string', default: String(SCALE_DEFAULTS.per) },
    'scale-backlog': { type: 'string', default: String(SCALE_DEFAULTS.backlog) },
    'scale-small-backlog': { type: 'string', default: String(SCALE_DEFAULTS.smallBacklog) },
    'scale-parts': { type: 'string', default: SCALE_PARTS.join(',') },
  },
});

function list<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw new Error(`--${name}: "${i}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}
function whole(name: keyof typeof args, min: number): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${args[name]}: a whole number >= ${min}`);
  return n;
}

const systems = list('systems', args.systems!, SYSTEMS);
const scenarios = new Set(list('scenarios', args.scenarios!, SCENARIOS));
const options = {
  jobs: whole('jobs', 1),
  repeat: whole('repeat', 1),
  latencyProbes: whole('latency', 1),
  latencyBudgetSeconds: whole('latency-budget', 1),
  loadSeconds: whole('load-seconds', 1),
  loadProbesPerSec: whole('load-probes', 1),
  memoryJobs: whole('memory-jobs', 1),
  memorySeconds: whole('memory-seconds', 1),
  sweepJobs: Math.min(whole('sweep-jobs', 1), whole('jobs', 1)),
  sweepRepeat: whole('sweep-repeat', 1),
};
const scaleOptions: ScaleOptions = {
  workers: whole('scale-workers', 1),
  polls: whole('scale-polls', 0),
  rate: whole('scale-rate', 1),
  seconds: whole('scale-seconds', 1),
  tenants: whole('scale-tenants', 1),
  queues: whole('scale-queues', 1),
  per: whole('scale-per', 1),
  backlog: whole('scale-backlog', 1),
  smallBacklog: whole('scale-small-backlog', 1),
  parts: list('scale-parts', args['scale-parts']!, SCALE_PARTS),
};
const scaleDrainParts = scaleOptions.parts.filter((p) => p !== 'fleet').length > 0;
const overrides = JSON.parse(args.config!) as Record<string, Record<string, unknown>>;

const signals = new Signals();
await signals.open();
const context = { signals, databaseUrl: args['database-url']!, redisUrl: args['redis-url']!, nodeArgs: args['worker-node-args']!.split(' ').filter(Boolean) };
// Swept: every system not given --config, unless --no-sweep.
const swept = args['no-sweep'] ? [] : systems.filter((name) => !overrides[name]);

const has = (s: Scenario) => scenarios.has(s);
const main = has('enqueue') || has('drain') || has('latency') || has('latency-load');
const fairSystems = systems.filter((s) => (DOCKETS as readonly string[]).includes(s));
const sweepSteps = options.sweepRepeat * swept.reduce((n, name) => n + GRIDS[name].length, 0);
const steps = sweepSteps + options.repeat * ((main ? systems.length : 0) + (has('fairness') ? fairSystems.length : 0)) + (has('memory') ? systems.length : 0) + (has('scale') ? ((scaleOptions.parts.includes('fleet') ? 1 : 0) + (scaleDrainParts ? 1 : 0)) * fairSystems.length : 0);
const progress = new RunProgress(steps);

const samples: Samples = {};
const runs: Record<string, unknown>[] = [];
const fairRuns: Record<string, Record<string, number>[]> = {};
const errors: string[] = [];
const push = (system: string, key: string, v: number) => ((samples[system] ??= {})[key] ??= []).push(v);
const MiB = 2 ** 20;
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const log = (line: string) => {
  progress.stop();
  console.error(line);
};

// The configuration sweep: each system's settings are the best its grid reached here.
const sweeps: SweepResult[] = [];
for (const name of swept) {
  const result = await sweep(name, { signals, context, jobs: options.sweepJobs, rounds: options.sweepRepeat, next: (round, label) => progress.next(round, label), bar: progress, log });
  sweeps.push(result);
  if (result.chosen === null) errors.push(`${name} sweep: no configuration drained; its defaults are used`);
  else overrides[name] = result.trials[result.chosen]!.settings;
}
const made = new Map<SystemName, System>(systems.map((name) => [name, makeSystem(name, { ...context, overrides: overrides[name] ?? {} })]));
const configuredBy = (name: SystemName): string => {
  const s = sweeps.find((r) => r.system === name);
  if (s) return s.chosen === null ? 'defaults (the sweep found none that drained)' : `sweep: ${settingsLabel(s.trials[s.chosen]!.settings)}`;
  return overrides[name] ? `--config: ${settingsLabel(overrides[name])}` : 'defaults (--no-sweep)';
};
for (const name of systems) log(`${name}: ${configuredBy(name)}`);

/** One system, one step: setup, the body, teardown whatever happens; a failure is recorded, the run goes on. */
async function step(system: System, run: number, what: string, body: () => Promise<void>): Promise<void> {
  progress.next(run, system.name);
  const load = +loadavg()[0]!.toFixed(2);
  try {
    await system.setup();
    await body();
  } catch (err) {
    const message = `${system.name} run ${run} ${what}: ${err instanceof Error ? err.message : String(err)}`;
    errors.push(message);
    log(`FAILED ${message}`);
  } finally {
    await system.teardown().catch((err) => log(`${system.name}: teardown failed: ${String(err)}`));
    progress.stop();
  }
  runs.at(-1)!.loadAverageAtStart = load;
}

for (let run = 1; run <= options.repeat; run++) {
  // Interleaved: every repeat visits every system, starting one further along each time.
  const order = systems.map((_, i) => systems[(i + run - 1) % systems.length]!);
  for (const name of order) {
    const system = made.get(name)!;
    if (main) {
      const record: Record<string, unknown> = { system: name, run };
      runs.push(record);
      await step(system, run, 'enqueue/drain/latency', async () => {
        if (has('drain') || has('latency-load')) {
          const r = await throughput(system, signals, options.jobs, progress, args['database-url']!);
          Object.assign(record, { enqueuePerSec: Math.round(r.enqueuePerSec), drainPerSec: Math.round(r.drainPerSec), drainMs: Math.round(r.drainMs), drainPeakRssBytes: r.peakRssBytes, cpuMicrosPerJob: r.cpuMicrosPerJob });
          if (has('enqueue')) push(name, 'enqueuePerSec', r.enqueuePerSec);
          if (has('drain')) {
            push(name, 'drainPerSec', r.drainPerSec);
            push(name, 'cpuMicrosPerJob', r.cpuMicrosPerJob.total!);
          }
        } else if (has('enqueue')) {
          progress.start(options.jobs, 0, { phase: 'enqueue' });
          const v = await enqueueAll(system, options.jobs, progress);
          record.enqueuePerSec = Math.round(v);
          push(name, 'enqueuePerSec', v);
        }
        if (has('latency')) {
          const l = await latencyIdle(system, signals, options.latencyProbes, options.latencyBudgetSeconds * 1000, progress);
          record.latencyIdle = l;
          push(name, 'idleP50Ms', l.p50Ms);
          push(name, 'idleP99Ms', l.p99Ms);
        }
        if (has('latency-load')) {
          const rate = 0.5 * (record.drainPerSec as number);
          const l = await latencyUnderLoad(system, signals, rate, options.loadSeconds, options.loadProbesPerSec, progress);
          record.latencyUnderLoad = l;
          push(name, 'loadP50Ms', l.p50Ms);
          push(name, 'loadP99Ms', l.p99Ms);
        }
      });
      log(`${name} run ${run}: ${JSON.stringify(record)}`);
    }
    if (has('fairness') && (DOCKETS as readonly string[]).includes(name)) {
      const record: Record<string, unknown> = { system: name, run, scenario: 'fairness' };
      runs.push(record);
      // The weighted part's tenant weights (its own queue only), for this step's setup only.
      (system as TenantSystem).fairnessRules = FAIRNESS_RULES;
      await step(system, run, 'fairness', async () => {
        const f: FairnessResult = await fairness(system as TenantSystem, signals, options.jobs, progress);
        Object.assign(record, f);
        (fairRuns[name] ??= []).push(f as unknown as Record<string, number>);
      });
      (system as TenantSystem).fairnessRules = null;
      log(`${name} run ${run} fairness: ${JSON.stringify(record)}`);
    }
  }
}

if (has('memory')) {
  for (const name of systems) {
    const system = made.get(name)!;
    const record: Record<string, unknown> = { system: name, run: 1, scenario: 'memory' };
    runs.push(record);
    await step(system, 1, 'memory', async () => {
      const m = await memory(system, options.memoryJobs, options.memorySeconds, progress);
      Object.assign(record, m);
      push(name, 'peakRssMiB', sum(m.peakRssBytes) / MiB);
      push(name, 'storeMiB', sum(m.storeBytes) / MiB);
    });
    log(`${name} memory: ${JSON.stringify(record)}`);
  }
}

// Scale (Docket only, once per system): the fleet in a setup of its own, then the drains.
const scaleRuns: Record<string, ScaleRecord> = {};
if (has('scale')) {
  for (const name of fairSystems) {
    const system = made.get(name)! as unknown as ScaleSystem;
    const record: Record<string, unknown> = { system: name, run: 1, scenario: 'scale' };
    runs.push(record);
    const result: ScaleRecord = (scaleRuns[name] = {});
    if (scaleOptions.parts.includes('fleet')) {
      await step(system, 1, 'scale fleet', async () => {
        result.fleet = await scaleFleet(system, scaleOptions, progress);
      });
    }
    if (scaleDrainParts) {
      await step(system, 1, 'scale drains', async () => {
        Object.assign(result, await scaleDrains(system, signals, scaleOptions, progress));
      });
    }
    Object.assign(record, result);
    log(`${name} scale: ${JSON.stringify(record)}`);
  }
}

// Versions and configuration, printed with the results.
const versions: Record<string, string> = { node: process.version };
for (const s of made.values()) Object.assign(versions, await s.versions());
Object.assign(versions, await serverVersions(args['database-url']!, args['redis-url']!));
const settings = Object.fromEntries([...made.values()].map((s) => [s.name, s.settings]));
const configuration = Object.fromEntries(systems.map((name) => [name, configuredBy(name)]));
const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) };
const meds = medians(samples);
const fairMeds = Object.fromEntries(
  Object.entries(fairRuns).map(([s, rs]) => [s, Object.fromEntries(Object.keys(rs[0]!).map((k) => [k, median(rs.map((r) => r[k]!))]))]),
);
const checks = targets(meds, systems);
const scaleChecks = scaleTargets(scaleRuns);
const date = new Date().toISOString();
const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();

const md = [
  `# Benchmark run ${date}`,
  '',
  `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB; load average at the end ${loadavg().map((x) => x.toFixed(2)).join(' ')}.`,
  `Versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
  [
    `Command: \`${command}\`. Medians of ${options.repeat} interleaved repeat(s) of ${options.jobs.toLocaleString('en-US')} no-op jobs`,
    has('latency-load') ? `; latency under load at 50% of the drain rate the system itself reached in the same repeat` : '',
    has('memory') ? `; memory run: ${options.memoryJobs.toLocaleString('en-US')} queued jobs, once per system (peak RSS summed over the system's processes after ${options.memorySeconds} s of work on that queue)` : '',
    '.',
  ].join(''),
  '',
  Object.keys(meds).length ? `${resultsTable(meds, systems)}\n` : '',
  ratioTable(meds, systems) ? `Docket against the best peer of each column (> 1× is better than the best peer: throughput ÷ best; latency and memory: best ÷ value):\n\n${ratioTable(meds, systems)}\n` : '',
  checks.some((c) => c.met !== null) ? `${targetsTable(checks)}\n` : '',
  Object.keys(fairMeds).length ? `Fairness and priority (Docket only; ${options.jobs.toLocaleString('en-US')} jobs of tenant A then 10 of tenant B, submitted before the workers start; ${Math.round(options.jobs / 10).toLocaleString('en-US')} priority-5 jobs then 1 priority-1; weights 3:1 on queue \`weighted\`, ${WEIGHTED_JOBS.toLocaleString('en-US')} 2-ms jobs of each tenant queued before the workers start; priority pools {"1-3":8,"4-7":4,"8-10":2}, ${POOL_JOBS.toLocaleString('en-US')} 5-ms jobs each of priorities 2, 5 and 9 queued before the workers start; shares over the first 40% of the starts):\n\n${fairnessTable(fairMeds)}\n` : '',
  Object.keys(scaleRuns).length
    ? `Scale (issue 20; Docket only, once per system): ${scaleOptions.workers.toLocaleString('en-US')} HTTP workers heartbeating every 30 s (lease and heartbeat timeout 90 s), ${scaleOptions.polls.toLocaleString('en-US')} of them in long-poll claims (waitMs 30 s), ${scaleOptions.rate} single submits per s for ${scaleOptions.seconds} s, against a server process without a worker; ${scaleOptions.tenants.toLocaleString('en-US')} tenants and ${scaleOptions.queues.toLocaleString('en-US')} queues × ${scaleOptions.per} jobs, each against the same jobs of one tenant or queue, queued before the workers start; a priority-1 probe right after a paused queue's resume with ${scaleOptions.backlog.toLocaleString('en-US')} and with ${scaleOptions.smallBacklog.toLocaleString('en-US')} queued:\n\n${scaleTable(scaleRuns)}\n\n${targetsTable(scaleChecks)}\n`
    : '',
  errors.length ? `Failures:\n\n${errors.map((e) => `- ${e}`).join('\n')}\n` : '',
  `Configuration of each system: ${systems.map((name) => `${name} ${configuration[name]}`).join('; ')}.\n`,
  sweeps.length
    ? `Configuration sweep (before the repeats: the drain of ${options.sweepJobs.toLocaleString('en-US')} jobs with each configuration, ${options.sweepRepeat} interleaved round(s); the best median drain is used):\n\n${sweepTable(sweeps)}\n`
    : '',
  'Settings:',
  '',
  '```json',
  JSON.stringify(settings, null, 1),
  '```',
  '',
]
  .join('\n')
  .replace(/\n{3,}/g, '\n\n');

mkdirSync(args.out!, { recursive: true });
const stamp = date.replace(/[:.]/g, '-');
const base = join(args.out!, stamp);
writeFileSync(`${base}.json`, JSON.stringify({ date, command, machine, versions, options, systems, scenarios: [...scenarios], settings, configuration, sweeps, medians: meds, fairness: fairMeds, targets: checks, scale: scaleRuns, scaleOptions, scaleTargets: scaleChecks, samples, runs, errors }, null, 2));
writeFileSync(`${base}.md`, md);
signals.close();
console.log(md);
console.error(`results: ${base}.md, ${base}.json`);
process.exit(errors.length ? 1 : 0);

async function serverVersions(databaseUrl: string, redisUrl: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    out.postgres = (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    out.postgresSynchronousCommit = (await client.query<{ v: string }>(`SELECT current_setting('synchronous_commit') AS v`)).rows[0]!.v;
  } catch {
    // no PostgreSQL: embedded only
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    out.redis = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } catch {
    // no Redis
  } finally {
    redis.disconnect();
  }
  return out;
}
