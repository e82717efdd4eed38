// The embedded engine's batch sizes in a drain: jobs per claim and per completion (their event rows).
//   node bench/hot-path-embedded/engine-batch-sizes.mjs bench/dist/src 30000 [concurrency]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distArg, jobsArg, conc] = process.argv.slice(2);
const dist = (p) => import(pathToFileURL(join(resolve(distArg), p)).href);
const { openEmbedded } = await dist('app/docket.js');
const { Worker } = await dist('sdk/worker.js');
const { LocalTransport } = await dist('sdk/local-transport.js');
const { pino } = await import('pino');
const N = Number(jobsArg);
const dir = mkdtempSync(join(tmpdir(), 'hs-bs-'));
const docket = await openEmbedded({ dataDir: dir, sqliteSync: 'normal' });
const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
for (let i = 0; i < N; i += 1000) await docket.jobs.submitter.submit(batch, { tenant: 'bench' });
let done = 0, finish;
const drained = new Promise((r) => (finish = r));
const worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers: { noop: () => {} }, concurrency: Number(conc ?? 200), logger: pino({ level: 'silent' }) });
worker.on('completed', () => { if (++done === N) finish(); });
const c0 = process.cpuUsage();
await worker.start(); await drained;
const c = process.cpuUsage(c0);
const rows = docket.store.db.prepare('SELECT type, count(*) AS rows, avg(n) AS avgN FROM events WHERE n IS NOT NULL GROUP BY type').all();
console.log(JSON.stringify({ concurrency: Number(conc ?? 200), cpuUsPerJob: +((c.user + c.system) / N).toFixed(1), rows }));
await worker.close(); await docket.stop(); rmSync(dir, { recursive: true, force: true });
process.exit(0);
