// CPU profile of the embedded engine's drain only (the enqueue is not profiled): openEmbedded and one
// SDK Worker of 200 slots, as the suite's embedded drain. Summarize with profile-summary.mjs.
//   node bench/hot-path-embedded/engine-profile.mjs bench/dist/src 50000 /tmp/drain.cpuprofile
// (bench/dist/src: `npm run build:bench` of the checkout to profile)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distArg, jobsArg, out] = process.argv.slice(2);
const dist = (p) => import(pathToFileURL(join(resolve(distArg), p)).href);
const { openEmbedded } = await dist('app/docket.js');
const { Worker } = await dist('sdk/worker.js');
const { LocalTransport } = await dist('sdk/local-transport.js');
const { pino } = await import('pino');
const N = Number(jobsArg);
const dir = mkdtempSync(join(tmpdir(), 'hs-prof-'));
const docket = await openEmbedded({ dataDir: dir, sqliteSync: 'normal' });
const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
for (let i = 0; i < N; i += 1000) await docket.jobs.submitter.submit(batch, { tenant: 'bench' });
let done = 0, finish;
const drained = new Promise((r) => (finish = r));
const worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers: { noop: () => {} }, concurrency: 200, logger: pino({ level: 'silent' }) });
worker.on('completed', () => { if (++done === N) finish(); });
const session = new Session(); session.connect();
await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 200 }); await session.post('Profiler.start');
const c0 = process.cpuUsage(); const t0 = performance.now();
await worker.start(); await drained;
const c = process.cpuUsage(c0); const ms = performance.now() - t0;
const { profile } = await session.post('Profiler.stop');
writeFileSync(out, JSON.stringify(profile));
console.log(JSON.stringify({ jobs: N, drainPerS: Math.round(N / (ms / 1000)), cpuUsPerJob: +((c.user + c.system) / N).toFixed(1) }));
await worker.close(); await docket.stop(); rmSync(dir, { recursive: true, force: true });
process.exit(0);
