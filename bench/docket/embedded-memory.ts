/**
 * The memory scenario for Docket embedded, in a process of its own (bench/scenarios/memory.ts).
 * The peers' peak RSS is their worker processes', so Docket embedded's is this process's: the
 * engine, its worker and the loop that submits the jobs. In the benchmark process it would also
 * carry the harness and every peer's client library (~70 MiB more). The steps are the scenario's:
 * M no-op jobs submitted 1,000 per call, then one SDK Worker for `seconds` or until drained.
 *
 *   node embedded-memory.js DIR M SECONDS CONCURRENCY SYNC
 *
 * Messages to the parent: { enqueued } now and then, { queued: enqueuePerSec } when all are in
 * (then it waits for 'work'), { worked: completed } at the end (then it waits for 'exit', so that
 * the parent reads its peak RSS while it still runs).
 */
import { pino } from 'pino';
import { openEmbedded } from '../../src/app/docket.js';
import { LocalTransport } from '../../src/sdk/local-transport.js';
import { Worker } from '../../src/sdk/worker.js';

const [dir, m, seconds, concurrency, sync] = process.argv.slice(2);
const jobs = Number(m);
const send = (msg: object) => process.send!(msg);
const next = (want: string) => new Promise<void>((resolve) => process.on('message', (msg) => msg === want && resolve()));

const docket = await openEmbedded({ dataDir: dir!, sqliteSync: sync === 'full' ? 'full' : 'normal' });
const batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
const t = performance.now();
for (let i = 0; i < jobs; i += 1000) {
  await docket.jobs.submitter.submit(i + 1000 <= jobs ? batch : batch.slice(0, jobs - i), { tenant: 'bench' });
  if (i % 100_000 === 0) send({ enqueued: i });
}
send({ queued: jobs / ((performance.now() - t) / 1000) });
await next('work');

let completed = 0;
const worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers: { noop: () => {} }, concurrency: Number(concurrency), logger: pino({ level: 'silent' }) });
worker.on('completed', () => void completed++);
await worker.start();
const end = performance.now() + Number(seconds) * 1000;
while (performance.now() < end && completed < jobs) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  send({ working: completed });
}
send({ worked: completed });
await next('exit');
await worker.close();
await docket.close();
process.exit(0);
