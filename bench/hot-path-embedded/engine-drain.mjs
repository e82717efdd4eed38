// Today's engine draining, for calibrating the store-level figures: the real embedded engine
// (openEmbedded from a build of this repository, `npm run build` first) with one in-process SDK
// Worker of --concurrency slots, as the suite runs it; --jobs no-op jobs submitted first (1,000 per
// call), then the drain timed until every job completed. Prints drain jobs/s and CPU µs per job
// in the format of drain.mjs (variant `engine`), so run.mjs-style comparisons with variant A give
// what the engine adds per job on top of its store.
//   node bench/hot-path-embedded/engine-drain.mjs --jobs 100000 [--concurrency 200] [--dist DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { threadCpu } from './lib/common.mjs';

const { values: args } = parseArgs({
  options: { jobs: { type: 'string', default: '100000' }, concurrency: { type: 'string', default: '200' }, dist: { type: 'string', default: new URL('../../dist', import.meta.url).pathname } },
});
const N = Number(args.jobs);
const dist = (p) => import(pathToFileURL(resolve(args.dist, p)).href);
const { openEmbedded } = await dist('app/docket.js');
const { Worker } = await dist('sdk/worker.js');
const { LocalTransport } = await dist('sdk/local-transport.js');
const { pino } = await import('pino');

const dir = mkdtempSync(join(tmpdir(), 'hot-path-engine-drain-'));
const docket = await openEmbedded({ dataDir: dir, sqliteSync: 'normal' });
const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
// The job service as the build names it: `service` (JobService, baefd6b) or `jobs` (the split services).
const jobs = docket.service ?? docket.jobs;
const submit = (b, ctx) => (docket.service ? docket.service.submit(b, ctx) : docket.jobs.submitter.submit(b, ctx));
const e0 = performance.now();
for (let i = 0; i < N; i += 1000) await submit(batch, { tenant: 'bench' });
const enqueueS = (performance.now() - e0) / 1000;

let completed = 0;
let allDone;
const done = new Promise((r) => (allDone = r));
const worker = new Worker({
  transport: new LocalTransport(jobs),
  handlers: { noop: () => {} },
  concurrency: Number(args.concurrency),
  logger: pino({ level: 'silent' }),
});
worker.on('completed', () => {
  if (++completed === N) allDone();
});
const c0 = process.cpuUsage();
const t0 = threadCpu();
const d0 = performance.now();
await worker.start();
await done;
const drainS = (performance.now() - d0) / 1000;
const c = process.cpuUsage(c0);
const t1 = threadCpu();
const mainS = (t1[process.pid] ?? 0) - (t0[process.pid] ?? 0);
await worker.close();
await docket.stop();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({
  variant: 'engine', jobs: N, concurrency: Number(args.concurrency), enqueuePerS: Math.round(N / enqueueS), drainPerS: Math.round(N / drainS),
  drainCpuUsPerJob: +((c.user + c.system) / N).toFixed(2), drainMainUsPerJob: +((mainS * 1e6) / N).toFixed(2), completed,
}));
process.exit(0);
