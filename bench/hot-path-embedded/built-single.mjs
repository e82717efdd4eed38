// The built SQLite store, store level, one job at a time: insert, claim, complete; median us of each call
// (first 500 dropped). node bench/hot-path-embedded/built-single.mjs bench/dist/src <label>
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const [distArg, label] = process.argv.slice(2);
const { SqliteStore } = await import(pathToFileURL(join(resolve(distArg), 'adapters/sqlite/sqlite-store.js')).href);
const { v7: uuid7 } = await import('uuid');
const path = '/tmp/hs-single-' + process.pid + '.db';
const store = new SqliteStore({ path });
await store.migrate();
const now = Date.now();
const t = { insert: [], claim: [], complete: [] };
for (let i = 0; i < 3000; i++) {
  const j = { id: uuid7(), tenant: 'bench', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {}, state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 3600000, jitter: 0.2 }, linkId: null, resubmittedFrom: null, createdAt: now };
  j.linkId = j.id;
  let a = performance.now(); await store.insertJobs([j]); t.insert.push(performance.now() - a);
  a = performance.now(); const r = await store.claimJobs([{ id: j.id, leaseToken: randomUUID() }], 'w', now + 30000, now + 1); t.claim.push(performance.now() - a);
  a = performance.now(); await store.completeJobs([{ id: j.id, leaseToken: r.claimed[0].leaseToken }], now + 2); t.complete.push(performance.now() - a);
}
const med = (xs) => { const s = xs.slice(500).sort((x, y) => x - y); return +(s[Math.floor(s.length / 2)] * 1000).toFixed(1); };
console.log(JSON.stringify({ label, insertUs: med(t.insert), claimUs: med(t.claim), completeUs: med(t.complete) }));
await store.close(); for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true });
