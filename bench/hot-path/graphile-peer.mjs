#!/usr/bin/env node
// The reference for the designs: graphile-worker 0.17.3 draining N no-op jobs through its public
// interface (makeWorkerUtils().addJobs, run() with the suite's settings: concurrency 24, pool 25,
// localQueue 500, completeJobBatchDelay 0), on a database of its own, dropped afterwards.
// Measured as run.mjs measures a design: CPU of the PostgreSQL backends serving it (the harness's
// own connections excluded) and of this process (which here is also the peer's worker: its
// JavaScript, not only a driver), WAL per job, and bytes per queued job after VACUUM ANALYZE.
//
//   node bench/hot-path/graphile-peer.mjs [--jobs 50000] [--rounds 3] [--database-url postgres://postgres@127.0.0.1:55432/postgres]
//   node bench/hot-path/graphile-peer.mjs --size 1000000    # bytes per queued job only
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { makeWorkerUtils, run, Logger } from 'graphile-worker';
import { cpuSeconds, ownCpu, median } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    size: { type: 'string', default: '0' },
    'database-url': { type: 'string', default: process.env.HOT_PATH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const N = Number(opt.jobs);
const DB = `hot_path_gw_${process.pid}`;
const quiet = new Logger(() => (level, message) => level === 'error' && console.error(message));
const admin = new pg.Client({ connectionString: opt['database-url'], application_name: 'bench-harness' });
await admin.connect();
const url = new URL(opt['database-url']);
url.pathname = `/${DB}`;

const backends = async () => new Map((await admin.query(
  `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'bench-harness'`, [DB])).rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
const lsn = async () => (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;

const results = [];
if (Number(opt.size) > 0) {
  const n = Number(opt.size);
  await admin.query(`CREATE DATABASE ${DB}`);
  const pool = new pg.Pool({ connectionString: url.href, max: 4, application_name: 'bench-harness' });
  pool.on('error', () => {});
  try {
    const utils = await makeWorkerUtils({ pgPool: pool, logger: quiet });
    await utils.migrate();
    for (let i = 0; i < n; i += 1000) await utils.addJobs(Array.from({ length: Math.min(1000, n - i) }, () => ({ identifier: 'noop', payload: {} })));
    await pool.query('VACUUM ANALYZE');
    const { rows } = await pool.query(`SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c
      JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'graphile_worker' AND c.relkind IN ('r', 'm') ORDER BY 2 DESC`);
    const total = rows.reduce((a, r) => a + Number(r.bytes), 0);
    results.push({ jobs: n, totalMiB: total / 2 ** 20, bytesPerJob: total / n, tables: Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)])) });
    console.log(`graphile-worker, ${n} queued: ${(total / 2 ** 20).toFixed(1)} MiB, ${(total / n).toFixed(0)} B/job`, JSON.stringify(results[0].tables));
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
}
for (let round = 0; Number(opt.size) === 0 && round < Number(opt.rounds); round++) {
  await admin.query(`CREATE DATABASE ${DB}`);
  const pool = new pg.Pool({ connectionString: url.href, max: 4, application_name: 'bench-harness' });
  pool.on('error', () => {}); // idle clients see the database dropped at the end
  try {
    const utils = await makeWorkerUtils({ pgPool: pool, logger: quiet });
    await utils.migrate();
    for (let i = 0; i < N; i += 1000) await utils.addJobs(Array.from({ length: Math.min(1000, N - i) }, () => ({ identifier: 'noop', payload: {} })));
    await pool.query('CHECKPOINT');
    const before = await backends();
    const own0 = ownCpu();
    const wal0 = await lsn();
    const t0 = performance.now();
    const runner = await run({
      connectionString: url.href, concurrency: 24, maxPoolSize: 25, useNodeTime: true, pollInterval: 2000, logger: quiet, noHandleSignals: true,
      preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      taskList: { noop: async () => {} },
    });
    for (let i = 0; i < 6000; i++) { // at most 10 minutes
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM graphile_worker._private_jobs');
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const ms = performance.now() - t0;
    const after = await backends();
    const own1 = ownCpu();
    const wal1 = await lsn();
    await runner.stop();
    // Its pool closes its connections after stop() resolves: wait for them before the drop.
    for (let i = 0; i < 100 && (await backends()).size > 0; i++) await new Promise((r) => setTimeout(r, 50));
    let pgCpu = 0;
    for (const [pid, cpu] of after) pgCpu += cpu - (before.get(pid) ?? 0);
    const walB = Number((await admin.query('SELECT pg_wal_lsn_diff($1, $2) AS b', [wal1, wal0])).rows[0].b) / N;
    const r = { round, jobsPerSec: N / (ms / 1000), pgUs: (pgCpu / N) * 1e6, processUs: ((own1 - own0) / N) * 1e6, walB };
    results.push(r);
    console.log(`round ${round}: ${r.jobsPerSec.toFixed(0)} jobs/s, PostgreSQL ${r.pgUs.toFixed(1)} µs/job, process (worker + harness) ${r.processUs.toFixed(1)} µs/job, WAL ${walB.toFixed(0)} B/job`);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
}
const m = (f) => median(results.map(f)).toFixed(1);
if (Number(opt.size) === 0) console.log(`medians: PostgreSQL ${m((r) => r.pgUs)} µs/job, process ${m((r) => r.processUs)} µs/job, WAL ${m((r) => r.walB)} B/job, ${m((r) => r.jobsPerSec)} jobs/s`);
const out = new URL(`./results/graphile-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url).pathname;
mkdirSync(new URL('./results/', import.meta.url).pathname, { recursive: true });
writeFileSync(out, JSON.stringify({ options: opt, results }, null, 2));
console.log(`raw results: ${out}`);
await admin.end();
