// The built SQLite store, store level: insert, claim and complete 20,000 jobs (UUIDv7 ids, batches
// of 1,000 inserts and 50 claims), then read the event log; CPU us per job of each part.
// Usage: node bench/hot-path-embedded/built-store.mjs <a Docket checkout with dist/ built>
// (run it alternately on two checkouts to compare them: docs/design/hot-path-embedded.md#built).
const dir = process.argv[2];
const { SqliteStore } = await import(dir + '/dist/adapters/sqlite/sqlite-store.js');
const { randomUUID } = await import('node:crypto'); const { v7: uuid7 } = await import(dir + '/node_modules/uuid/dist/esm/index.js');
const fs = await import('node:fs');
const path = '/tmp/docket-built-store-' + process.pid + '.db';
const store = new SqliteStore({ path });
await store.migrate();
const N = 20000, now = Date.now();
const jobs = [];
for (let i = 0; i < N; i++) jobs.push({ id: uuid7(), tenant: 'bench', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {}, state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 3600000, jitter: 0.2 }, linkId: null, resubmittedFrom: null, createdAt: now });
for (const j of jobs) j.linkId = j.id;
let t = process.cpuUsage();
for (let i = 0; i < N; i += 1000) await store.insertJobs(jobs.slice(i, i + 1000));
let u = process.cpuUsage(t); console.log('insert us/job', ((u.user + u.system) / N).toFixed(1));
t = process.cpuUsage();
let claimUs = 0, compUs = 0;
for (let i = 0; i < N; i += 50) {
  const c0 = process.cpuUsage();
  const claims = jobs.slice(i, i + 50).map((j) => ({ id: j.id, leaseToken: randomUUID() }));
  const r = await store.claimJobs(claims, 'w', now + 30000, now + 1);
  const c1 = process.cpuUsage(c0); claimUs += c1.user + c1.system;
  const c2 = process.cpuUsage();
  await store.completeJobs(r.claimed.map((j) => ({ id: j.id, leaseToken: j.leaseToken })), now + 2);
  const c3 = process.cpuUsage(c2); compUs += c3.user + c3.system;
}
console.log('claim us/job', (claimUs / N).toFixed(1), 'complete us/job', (compUs / N).toFixed(1));
t = process.cpuUsage();
let pos = 0, n = 0;
for (;;) { const ev = await store.events.read(pos, 1000); if (!ev.length) break; pos = ev.at(-1).pos; n += ev.length; }
u = process.cpuUsage(t); console.log('read events', n, 'us/job', ((u.user + u.system) / N).toFixed(1));
await store.close(); for (const s of ['', '-wal', '-shm']) fs.rmSync(path + s, { force: true });
