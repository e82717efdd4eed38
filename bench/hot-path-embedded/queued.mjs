// 1M queued jobs: store size and resident memory, per variant, each phase in a fresh process.
//   fill:   insert --jobs no-op jobs, 1,000 per transaction, into the variant's store and dispatch
//           (heap: every entry; window: nothing until a take); then the file size (db + wal after
//           a TRUNCATE checkpoint), bytes per job by table and index (dbstat), peak RSS (VmHWM).
//   reopen: what a restart costs: open the file, rebuild the dispatch (heap: load every ready row
//           as SqliteStore.loadDispatchable does; window: nothing), claim and complete one batch;
//           time to the first claim and peak RSS.
//   node bench/hot-path-embedded/queued.mjs --variants A,C-json,CE --jobs 1000000
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { fileMiB, newJob, rss } from './lib/common.mjs';
import { openVariant, VARIANTS } from './lib/variants.mjs';

const { values: args } = parseArgs({
  options: {
    variants: { type: 'string', default: 'A,C-json,CE' }, jobs: { type: 'string', default: '1000000' },
    phase: { type: 'string' }, variant: { type: 'string' }, path: { type: 'string' },
  },
});
const N = Number(args.jobs);

function dbstat(path) {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC').all();
  db.close();
  return Object.fromEntries(rows.filter((r) => r.bytes > 8192).map((r) => [r.name, +(r.bytes / N).toFixed(1)]));
}

if (args.phase === 'fill') {
  const store = openVariant(args.variant, args.path);
  const t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    const now = Date.now();
    store.enqueue(Array.from({ length: Math.min(1000, N - i) }, () => newJob(now)));
  }
  const fillS = (performance.now() - t0) / 1000;
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  const afterFill = rss();
  globalThis.gc?.();
  const held = rss().nowMiB;
  store.close();
  console.log(JSON.stringify({ fillS: +fillS.toFixed(1), fillPeakMiB: Math.round(afterFill.peakMiB), heldAfterGcMiB: Math.round(held), fileMiB: +fileMiB(args.path).toFixed(1) }));
} else if (args.phase === 'reopen') {
  const t0 = performance.now();
  const store = openVariant(args.variant, args.path, 'NORMAL', { reopen: true });
  let rebuilt = 0;
  rebuilt = store.rebuild();
  const jobs = store.claim(100, Date.now());
  store.complete(jobs, Date.now());
  const firstClaimMs = performance.now() - t0;
  globalThis.gc?.();
  const r = rss();
  store.close();
  console.log(JSON.stringify({ rebuilt, firstClaimMs: Math.round(firstClaimMs), reopenPeakMiB: Math.round(r.peakMiB), reopenHeldMiB: Math.round(r.nowMiB), claimed: jobs.length }));
} else {
  const me = new URL(import.meta.url).pathname;
  for (const v of args.variants.split(',')) {
    if (!VARIANTS[v] || VARIANTS[v].thread) throw new Error(`variant ${v}: in-thread ones only`);
    const dir = mkdtempSync(join(tmpdir(), 'hot-path-queued-'));
    const path = join(dir, 'q.db');
    const run = (phase) => JSON.parse(execFileSync(process.execPath, ['--expose-gc', me, '--phase', phase, '--variant', v, '--path', path, '--jobs', String(N)], { encoding: 'utf8' }).trim());
    const fill = run('fill');
    const bytesPerJob = +((fill.fileMiB * 2 ** 20) / N).toFixed(1);
    const byObject = dbstat(path);
    const reopen = run('reopen');
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ variant: v, jobs: N, ...fill, bytesPerJob, ...reopen, byObject }));
  }
}
