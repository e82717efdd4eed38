// The built SQLite store (a checkout's bench/dist/src), store level: 20,000 jobs inserted (1,000 per
// call), claimed and completed (50 per call); CPU us per job of each step. Variants change the schema
// after migrating, to price a piece of it: asis, nocheck (jobs_hot without its states' CHECK),
// notrig (without the cold-transition triggers), both. Alternate checkouts/variants to compare.
//   node bench/hot-path-embedded/built-steps.mjs bench/dist/src asis
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distArg, variant] = process.argv.slice(2);
const { SqliteStore } = await import(pathToFileURL(join(resolve(distArg), 'adapters/sqlite/sqlite-store.js')).href);
const { v7: uuid7 } = await import('uuid');
const path = '/tmp/hs-variant-' + process.pid + '.db';
const store = new SqliteStore({ path });
await store.migrate();
const db = store.db;
if (variant === 'nocheck' || variant === 'both') {
  // jobs_hot without its CHECK on state (same columns, indexes, triggers)
  const sql = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'jobs_hot'").pluck().get();
  const others = db.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = 'jobs_hot' AND type IN ('index','trigger') AND sql IS NOT NULL").pluck().all();
  const view = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'jobs'").pluck().get();
  db.exec('DROP VIEW jobs; DROP TABLE jobs_hot;');
  db.exec(sql.replace(/ CHECK \(state IN \([^)]*\)\)/, ''));
  for (const s of others) db.exec(s);
  db.exec(view);
}
if (variant === 'notrig' || variant === 'both') db.exec('DROP TRIGGER jobs_hot_events_state; DROP TRIGGER jobs_hot_events_progress;');
const N = 20000, now = Date.now();
const jobs = [];
for (let i = 0; i < N; i++) jobs.push({ id: uuid7(), tenant: 'bench', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {}, state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 3600000, jitter: 0.2 }, linkId: null, resubmittedFrom: null, createdAt: now });
for (const j of jobs) j.linkId = j.id;
let t = process.cpuUsage();
for (let i = 0; i < N; i += 1000) await store.insertJobs(jobs.slice(i, i + 1000));
let u = process.cpuUsage(t);
const insertUs = (u.user + u.system) / N;
let claimUs = 0, compUs = 0;
for (let i = 0; i < N; i += 50) {
  const c0 = process.cpuUsage();
  const r = await store.claimJobs(jobs.slice(i, i + 50).map((j) => ({ id: j.id, leaseToken: randomUUID() })), 'w', now + 30000, now + 1);
  const c1 = process.cpuUsage(c0); claimUs += c1.user + c1.system;
  const c2 = process.cpuUsage();
  await store.completeJobs(r.claimed.map((j) => ({ id: j.id, leaseToken: j.leaseToken })), now + 2);
  const c3 = process.cpuUsage(c2); compUs += c3.user + c3.system;
}
const ok = db.prepare("SELECT count(*) FROM jobs_hot WHERE state = 'succeeded'").pluck().get();
console.log(JSON.stringify({ variant, insertUs: +insertUs.toFixed(2), claimUs: +(claimUs / N).toFixed(2), completeUs: +(compUs / N).toFixed(2), succeeded: ok }));
await store.close(); for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
