// Store level: 20,000 jobs inserted (1,000 per call), claimed and completed (50 per call), then the
// event log read as the relay reads it (2,000 per read); CPU us per job of the read.
//   node bench/hot-path-embedded/built-read-events.mjs bench/dist/src <label>
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distArg, label] = process.argv.slice(2);
const { SqliteStore } = await import(pathToFileURL(join(resolve(distArg), 'adapters/sqlite/sqlite-store.js')).href);
const { v7: uuid7 } = await import('uuid');
const path = '/tmp/hs-read-' + process.pid + '.db';
const store = new SqliteStore({ path });
await store.migrate();
const N = 20000, now = Date.now();
const jobs = [];
for (let i = 0; i < N; i++) jobs.push({ id: uuid7(), tenant: 'bench', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {}, state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 3600000, jitter: 0.2 }, linkId: null, resubmittedFrom: null, createdAt: now });
for (const j of jobs) j.linkId = j.id;
for (let i = 0; i < N; i += 1000) await store.insertJobs(jobs.slice(i, i + 1000));
for (let i = 0; i < N; i += 50) {
  const r = await store.claimJobs(jobs.slice(i, i + 50).map((j) => ({ id: j.id, leaseToken: randomUUID() })), 'w', now + 30000, now + 1);
  await store.completeJobs(r.claimed.map((j) => ({ id: j.id, leaseToken: j.leaseToken })), now + 2);
}
const t = process.cpuUsage();
let pos = 0, n = 0, withQueue = 0;
for (;;) { const ev = await store.events.read(pos, 2000); if (!ev.length) break; pos = ev.at(-1).pos; n += ev.length; for (const e of ev) if (e.data.jobType === 'noop') withQueue++; }
const u = process.cpuUsage(t);
console.log(JSON.stringify({ label, events: n, complete: withQueue, readUsPerJob: +((u.user + u.system) / N).toFixed(2) }));
await store.close(); for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
