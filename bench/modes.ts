/**
 * `npm run bench -- --mode embedded|production|all` (the single-system benchmark; without
 * --mode, `npm run bench` runs the side-by-side suite, bench/suite.ts): bulk-submit N no-op jobs, drain them with workers, then measure
 * enqueue-to-start latency one job at a time on an idle engine.
 *
 * - embedded (default): SQLite file in a temp directory (WAL, synchronous=NORMAL), one in-process worker;
 * - production: a server process and N worker processes on PostgreSQL + Redis (bench/production.ts);
 * - all: both.
 *
 *   npm run bench -- --jobs 100000 --concurrency 200 --latency 1000 --runs 3
 *   npm run bench -- --mode production --jobs 100000 --workers 2 --concurrency 200
 *
 * Production options: --database-url (default $DOCKET_BENCH_DATABASE_URL or
 * postgres://postgres@127.0.0.1:5432/test; each run makes and drops its own schema there),
 * --redis-url (default $DOCKET_BENCH_REDIS_URL or redis://127.0.0.1:6379; each run uses and
 * deletes its own key prefix), --synchronous-commit on|off|... (default: the server's setting),
 * --pg-options="-c name=value ..." (more connection options for Docket's processes),
 * --worker-node-args=... / --server-node-args=... (e.g. --worker-node-args="--cpu-prof --cpu-prof-dir=prof";
 * a value starting with "-" needs the "=" form), --kafka-brokers host:port (default
 * $DOCKET_BENCH_KAFKA_BROKERS: the cluster also publishes its lifecycle events there, on topics of
 * its own prefix).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, type BenchSettings, type RunResult } from './common.js';
import { embeddedOnce } from './embedded.js';
import { productionEnvironment, productionOnce } from './production.js';

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'embedded' },
    jobs: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '200' },
    workers: { type: 'string', default: '2' },
    latency: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench-results' },
    'database-url': { type: 'string', default: process.env.DOCKET_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: process.env.DOCKET_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    'synchronous-commit': { type: 'string' },
    'pg-options': { type: 'string', default: '' },
    'worker-node-args': { type: 'string', default: '' },
    'server-node-args': { type: 'string', default: '' },
    'kafka-brokers': { type: 'string', default: process.env.DOCKET_BENCH_KAFKA_BROKERS ?? '' },
  },
});

const MODES = { embedded: ['embedded'], production: ['production'], all: ['embedded', 'production'] } as const;
const modes = MODES[args.mode as keyof typeof MODES];
if (!modes) throw new Error(`--mode ${args.mode}: one of ${Object.keys(MODES).join(', ')}`);
const whole = (name: string, min: number): number => {
  const n = Number(args[name as keyof typeof args]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${args[name as keyof typeof args]}: a whole number >= ${min}`);
  return n;
};
const settings: BenchSettings = {
  jobs: whole('jobs', 1),
  concurrency: whole('concurrency', 1),
  latencyJobs: whole('latency', 1),
  runs: whole('runs', 1),
  workers: whole('workers', 1),
  databaseUrl: args['database-url']!,
  redisUrl: args['redis-url']!,
  synchronousCommit: args['synchronous-commit'] ?? null,
  pgOptions: args['pg-options']!,
  workerNodeArgs: args['worker-node-args']!.split(' ').filter(Boolean),
  serverNodeArgs: args['server-node-args']!.split(' ').filter(Boolean),
  kafkaBrokers: args['kafka-brokers'] || null,
};

const DESCRIPTION = {
  embedded: 'SQLite WAL, synchronous=NORMAL, one in-process worker; enqueue through the submitter (1,000 per call)',
  production: 'PostgreSQL + Redis; 1 server process (api,scheduler) + worker processes; enqueue over HTTP POST /v1/jobs/bulk (1,000 per request)',
};

const date = new Date().toISOString();
const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
const results: Record<string, unknown>[] = [];
const rows: string[] = [];
for (const mode of modes) {
  const environment = mode === 'production' ? await productionEnvironment(settings) : {};
  const config =
    mode === 'production'
      ? {
          mode,
          description: DESCRIPTION[mode],
          jobs: settings.jobs,
          workers: settings.workers,
          concurrencyPerWorker: settings.concurrency,
          latencyJobs: settings.latencyJobs,
          runs: settings.runs,
          ...environment,
          ...(settings.pgOptions ? { pgOptions: settings.pgOptions } : {}),
          ...(settings.workerNodeArgs.length ? { workerNodeArgs: settings.workerNodeArgs.join(' ') } : {}),
          lifecycleEvents: settings.kafkaBrokers ? `logged and published to Kafka at ${settings.kafkaBrokers}` : 'logged (outbox), not published (no Kafka)',
        }
      : { mode, description: DESCRIPTION[mode], jobs: settings.jobs, concurrency: settings.concurrency, latencyJobs: settings.latencyJobs, runs: settings.runs };
  console.log(JSON.stringify(machine), JSON.stringify(config));
  const runs: RunResult[] = [];
  for (let r = 1; r <= settings.runs; r++) {
    // The machine may be shared: the load when the run started goes with its figures.
    const load = +loadavg()[0]!.toFixed(2);
    const result = { ...(await (mode === 'production' ? productionOnce(r, settings) : embeddedOnce(r, settings))), loadAverageAtStart: load };
    console.error(
      `${mode} run ${r} (load ${load}): enqueue ${Math.round(result.enqueuePerSec)}/s, drain ${Math.round(result.drainPerSec)}/s, ` +
        `p50 ${result.latencyP50Ms.toFixed(3)} ms, p99 ${result.latencyP99Ms.toFixed(3)} ms` +
        (result.details ? `\n  ${JSON.stringify(result.details)}` : ''),
    );
    runs.push(result);
  }
  const m = {
    enqueuePerSec: Math.round(median(runs.map((r) => r.enqueuePerSec))),
    drainPerSec: Math.round(median(runs.map((r) => r.drainPerSec))),
    latencyP50Ms: +median(runs.map((r) => r.latencyP50Ms)).toFixed(3),
    latencyP99Ms: +median(runs.map((r) => r.latencyP99Ms)).toFixed(3),
  };
  results.push({ ...config, median: m, runs });
  const label = mode === 'production' ? `production (${settings.workers} workers x ${settings.concurrency}, synchronous_commit=${environment.synchronous_commit})` : `embedded (concurrency ${settings.concurrency})`;
  rows.push(`| ${label} | ${m.enqueuePerSec} | ${m.drainPerSec} | ${m.latencyP50Ms} ms | ${m.latencyP99Ms} ms |`);
}

const table = ['| mode | enqueue jobs/s | drain jobs/s | start latency p50 | p99 |', '|---|---:|---:|---:|---:|', ...rows].join('\n');
mkdirSync(args.out!, { recursive: true });
const stamp = date.replace(/[:.]/g, '-');
writeFileSync(join(args.out!, `bench-${stamp}.json`), JSON.stringify({ date, machine, results }, null, 2));
writeFileSync(join(args.out!, `bench-${stamp}.md`), `${table}\n`);
console.log(table);
