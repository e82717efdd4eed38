// Where the engine's memory goes with --jobs queued: the real embedded engine (openEmbedded from a
// build of this repository, `npm run build` first), jobs submitted as the suite does (JobService.submit,
// 1,000 `{ type: 'noop' }` per call, tenant `bench`), then peak and current RSS and the V8 heap
// before and after a full GC: what is retained, and what was garbage not yet collected.
//   node --expose-gc bench/hot-path-embedded/engine-rss.mjs --jobs 1000000 [--dist DIR]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { rss, fileMiB } from './lib/common.mjs';

const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '1000000' }, dist: { type: 'string', default: new URL('../../dist', import.meta.url).pathname } } });
const N = Number(args.jobs);
const { openEmbedded } = await import(pathToFileURL(resolve(args.dist, 'app/docket.js')).href);
const dir = mkdtempSync(join(tmpdir(), 'hot-path-engine-'));
const docket = await openEmbedded({ dataDir: dir, sqliteSync: 'normal' });
const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
// The job service as the build names it: `service` (JobService, baefd6b) or `jobs` (the split services).
const submit = (b, ctx) => (docket.service ? docket.service.submit(b, ctx) : docket.jobs.submitter.submit(b, ctx));
const mib = (b) => Math.round(b / 2 ** 20);
const heap = () => {
  const m = process.memoryUsage();
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external) };
};
const t0 = performance.now();
for (let i = 0; i < N; i += 1000) await submit(batch, { tenant: 'bench' });
const submitS = (performance.now() - t0) / 1000;
const before = { peakMiB: Math.round(rss().peakMiB), ...heap() };
globalThis.gc?.();
const after = heap();
const storeMiB = +fileMiB(join(dir, 'docket.db')).toFixed(1);
await docket.stop?.();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ jobs: N, submitS: +submitS.toFixed(1), beforeGc: before, afterGc: after, storeMiB }));
process.exit(0);
