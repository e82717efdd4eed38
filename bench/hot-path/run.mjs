#!/usr/bin/env node
// Hot-path prototypes, measured: bulk insert N queued jobs per design, then a drain that claims
// batches (ids handed over in submission order, as the dispatch hands them) and completes them in
// batches, on `--lanes` connections. Designs run interleaved (the order rotates each round) and
// each in a schema (and Redis key prefix) of its own, dropped afterwards. See README.md.
//
//   node bench/hot-path/run.mjs [--jobs 50000] [--rounds 3] [--batch 200] [--lanes 2] [--designs A,B,C,D,E]
//   node bench/hot-path/run.mjs --size 1000000        # bytes per queued job only (no drain)
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { connect, cpuSeconds, ownCpu, newJobs, walLsn, walBytes, schemaSizes, hotCounts, median, tokens } from './lib.mjs';
import * as A from './designs/a-today.mjs';
import { B, C, E, withFillfactor } from './designs/split.mjs';
import * as D from './designs/d-redis-lease.mjs';
import { F, F2, G, G2 } from './designs/f-running-table.mjs';
import { EXPAND_COMPACT, EXPAND_ROWS, READ_TODAY } from './designs/schema.mjs';

const { values: opt } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '200' },
    lanes: { type: 'string', default: '2' },
    designs: { type: 'string', default: 'A,B,C,D,E,F' },
    size: { type: 'string', default: '0' },
    'database-url': { type: 'string', default: process.env.HOT_PATH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: process.env.HOT_PATH_REDIS_URL ?? 'redis://127.0.0.1:6379' },
    'redis-pid': { type: 'string', default: '' },
    out: { type: 'string', default: '' },
    // 'on' with a PostgreSQL of your own: a CHECKPOINT before each drain evens out full-page writes
    // between designs (the doc's runs); on a shared server it slows everyone down.
    checkpoint: { type: 'string', default: 'off' },
  },
});
const ALL = { A, B, C, D, E, F, F2, G, G2 };
// `E@35`: design E with job_states at fillfactor 35 (B, C and E only).
const designs = opt.designs.split(',').map((n) => {
  const [base, ff] = n.trim().split('@');
  if (!ALL[base]) throw new Error(`unknown design ${n}: one of ${Object.keys(ALL).join(', ')}, optionally @fillfactor`);
  return ff ? withFillfactor(ALL[base], Number(ff)) : ALL[base];
});
const N = Number(opt.jobs);
const BATCH = Number(opt.batch);
const LANES = Number(opt.lanes);
const INSERT_BATCH = 1000;
const url = opt['database-url'];
const redisPid = Number(opt['redis-pid']) || 0;

async function withSchema(design, tag, body) {
  const schema = `hot_path_${design.name.toLowerCase()}_${process.pid}_${tag}`;
  const prefix = `hot-path:${process.pid}:${tag}:${design.name}:`;
  const admin = await connect(url, 'public');
  const redis = new Redis(opt['redis-url']);
  await admin.query(`CREATE SCHEMA ${schema}`);
  const clients = [];
  try {
    for (let i = 0; i < Math.max(LANES, 1); i++) clients.push(await connect(url, schema));
    await design.setup(clients[0], redis, prefix);
    return await body({ schema, admin, clients, redis });
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch((e) => console.error(`could not drop ${schema}:`, e.message));
    await admin.end();
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (found.length > 0) await redis.del(...found);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
}

/** The schema's tables, qualified: VACUUM and ANALYZE of this schema only, never the whole database. */
async function tablesOf(admin, schema) {
  const { rows } = await admin.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1`, [schema]);
  return rows.map((r) => `${schema}.${r.tablename}`).join(', ');
}

async function insertAll(design, client, n) {
  const now = Date.now();
  const ids = [];
  for (let i = 0; i < n; i += INSERT_BATCH) {
    const jobs = newJobs(Math.min(INSERT_BATCH, n - i), now);
    await design.insert(client, jobs);
    for (const j of jobs) ids.push(j.id);
  }
  return ids;
}

/** CPU of the backends serving `clients`, this process and (when given) the Redis server. */
const cpuNow = (clients) => ({
  pg: clients.reduce((s, c) => s + cpuSeconds(c.backendPid), 0),
  client: ownCpu(),
  redis: redisPid ? cpuSeconds(redisPid) : 0,
});

async function drainOnce(design, round) {
  return withSchema(design, `r${round}`, async ({ schema, admin, clients }) => {
    const c0 = clients[0];
    let cpu0 = cpuNow(clients);
    let wal0 = await walLsn(admin);
    const t0 = performance.now();
    const ids = await insertAll(design, c0, N);
    const insertMs = performance.now() - t0;
    let cpu1 = cpuNow(clients);
    let wal1 = await walLsn(admin);
    const insert = { jobsPerSec: N / (insertMs / 1000), pgUs: ((cpu1.pg - cpu0.pg) / N) * 1e6, clientUs: ((cpu1.client - cpu0.client) / N) * 1e6, walB: (await walBytes(admin, wal0, wal1)) / N };
    await admin.query(`ANALYZE ${await tablesOf(admin, schema)}`); // statistics as after a bulk submit (autovacuum is off on the shared server)
    if (opt.checkpoint !== 'off') await admin.query('CHECKPOINT'); // every design starts its drain with the same full-page-write state
    const before = await hotCounts(admin, schema);

    // The drain: lanes take the next batch of ids in order, claim it, complete it.
    let next = 0;
    let refused = 0;
    let claimed = 0;
    cpu0 = cpuNow(clients);
    wal0 = await walLsn(admin);
    const d0 = performance.now();
    await Promise.all(clients.slice(0, LANES).map(async (client, lane) => {
      const workerId = `worker-${lane}`;
      while (next < ids.length) {
        const batch = ids.slice(next, next + BATCH).sort();
        next += batch.length;
        const toks = tokens(batch.length);
        const now = Date.now();
        const got = await design.claim(client, batch, toks, { expiresAt: now + 30_000, workerId, now });
        const lost = await design.complete(client, batch, toks, Date.now());
        claimed += got;
        refused += lost;
      }
    }));
    const drainMs = performance.now() - d0;
    cpu1 = cpuNow(clients);
    wal1 = await walLsn(admin);
    const wal = await walBytes(admin, wal0, wal1);
    const fencing = await checkFencing(design, c0);
    const relay = await relayAll(schema, admin, clients);
    // A backend flushes its table statistics at exit (or up to 10 s after going idle).
    for (const c of clients) await c.end();
    await new Promise((r) => setTimeout(r, 300));
    await admin.query('SELECT pg_stat_clear_snapshot()');
    const after = await hotCounts(admin, schema);
    const hot = {};
    for (const [t, a] of Object.entries(after)) {
      const b = before[t] ?? { upd: 0, hot: 0, del: 0, ins: 0 };
      if (a.upd - b.upd || a.del - b.del || a.ins - b.ins) hot[t] = { upd: a.upd - b.upd, hot: a.hot - b.hot, del: a.del - b.del, ins: a.ins - b.ins };
    }
    const drain = {
      jobsPerSec: N / (drainMs / 1000),
      pgUs: ((cpu1.pg - cpu0.pg) / N) * 1e6,
      clientUs: ((cpu1.client - cpu0.client) / N) * 1e6,
      redisUs: ((cpu1.redis - cpu0.redis) / N) * 1e6,
      walB: wal / N,
      claimed,
      refused,
    };
    drain.totalUs = drain.pgUs + drain.clientUs + drain.redisUs;
    return { design: design.name, round, insert, drain, relay, hot, fencing };
  });
}

/**
 * The relay's read of every event row the run wrote, 50 rows a statement: today's rows are read as
 * built; compact rows (E, D, F) are expanded into the same text by joining the specs, work that E
 * moves from the hot path to the relay. CPU per job drained (PostgreSQL backend + this process).
 */
async function relayAll(schema, admin, clients) {
  const columns = (await admin.query(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events'`, [schema])).rows.map((r) => r.column_name);
  const compact = columns.includes('ids');
  const text = columns.includes('events');
  const client = clients[0];
  const { rows } = await client.query('SELECT coalesce(max(seq), 0) AS max FROM events');
  const max = Number(rows[0].max);
  const cpu0 = cpuNow([client]);
  let bytes = 0;
  for (let from = 0; from < max; from += 50) {
    // Rows of both kinds (G) are read by both statements, each taking its own.
    for (const [use, name, sql] of [[text, 'relay_text', READ_TODAY], [compact, 'relay_compact', EXPAND_COMPACT]]) {
      if (!use) continue;
      const r = await client.query({ name, text: sql, values: [from, from + 50] });
      for (const row of r.rows) bytes += row.events.length;
    }
  }
  const cpu1 = cpuNow([client]);
  const out = { compact, pgUs: ((cpu1.pg - cpu0.pg) / N) * 1e6, clientUs: ((cpu1.client - cpu0.client) / N) * 1e6, textBytesPerJob: bytes / N };
  if (!compact) return out;
  // Again, the compact rows only, with the text built here instead of in SQL.
  let jsBytes = 0;
  const cpu2 = cpuNow([client]);
  for (let from = 0; from < max; from += 50) {
    const r = await client.query({ name: 'relay_rows', text: EXPAND_ROWS, values: [from, from + 50] });
    for (const text of eventsOf(r.rows)) jsBytes += text.length;
  }
  const cpu3 = cpuNow([client]);
  // The two expansions give the same text (checked on the first rows).
  const sql = (await client.query({ name: 'relay_compact', text: EXPAND_COMPACT, values: [0, 50] })).rows.map((r) => r.events);
  const js = eventsOf((await client.query({ name: 'relay_rows', text: EXPAND_ROWS, values: [0, 50] })).rows);
  out.jsMatchesSql = sql.length > 0 && sql.length === js.length && sql.every((t, i) => t === js[i]);
  if (!out.jsMatchesSql) console.error('relay: the JavaScript expansion differs from SQL:', sql[0]?.slice(0, 300), js[0]?.slice(0, 300));
  return { ...out, js: { pgUs: ((cpu3.pg - cpu2.pg) / N) * 1e6, clientUs: ((cpu3.client - cpu2.client) / N) * 1e6, textBytesPerJob: jsBytes / N } };
}

const STATE_OF = { submitted: ['ready', null], started: ['running', 'ready'], succeeded: ['succeeded', 'running'] };
/** One text per compact row, as docket_event_text builds each event (same fields, same order). */
function eventsOf(rows) {
  const texts = [];
  let seq = null;
  let parts = [];
  for (const r of rows) {
    if (r.seq !== seq) {
      if (parts.length > 0) texts.push(`[${parts.join(',')}]`);
      seq = r.seq;
      parts = [];
    }
    const [state, prev] = STATE_OF[r.kind];
    parts.push(`["j","${r.kind}",${r.at},"${r.id}",${JSON.stringify(r.tenant)},${JSON.stringify(r.link_id)},${JSON.stringify(r.queue)},`
      + `${JSON.stringify(r.type)},"${state}",${prev ? `"${prev}"` : 'null'},${r.attempt ?? 0},${r.max_attempts},${r.priority},null,`
      + `${r.worker_id === null ? 'null' : JSON.stringify(r.worker_id)},null,${r.run_at},null,null]`);
  }
  if (parts.length > 0) texts.push(`[${parts.join(',')}]`);
  return texts;
}

/** A stale completion (another token) is refused, the holder's accepted, and a read by id sees it finished. */
async function checkFencing(design, client) {
  const [job] = newJobs(1, Date.now());
  await design.insert(client, [job]);
  const [mine, stale] = tokens(2);
  const now = Date.now();
  const claimed = await design.claim(client, [job.id], [mine], { expiresAt: now + 30_000, workerId: 'w', now });
  const running = await design.readById(client, job.id);
  const staleRefused = (await design.complete(client, [job.id], [stale], Date.now())) === 1;
  const holderAccepted = (await design.complete(client, [job.id], [mine], Date.now())) === 0;
  const again = (await design.complete(client, [job.id], [mine], Date.now())) === 1;
  const finished = await design.readById(client, job.id);
  return { claimed, running: running?.state, staleRefused, holderAccepted, secondRefused: again, finished: finished?.state };
}

async function sizeOnce(design, n) {
  return withSchema(design, 'size', async ({ schema, admin, clients }) => {
    const t0 = performance.now();
    await insertAll(design, clients[0], n);
    const insertMs = performance.now() - t0;
    await admin.query(`VACUUM ANALYZE ${await tablesOf(admin, schema)}`);
    const tables = await schemaSizes(admin, schema);
    const total = Object.values(tables).reduce((a, b) => a + b, 0);
    const events = tables.events ?? 0;
    return { design: design.name, jobs: n, insertJobsPerSec: n / (insertMs / 1000), tables, bytesPerJob: total / n, bytesPerJobWithoutEvents: (total - events) / n, totalMiB: total / 2 ** 20 };
  });
}

const results = [];
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const out = opt.out || new URL(`./results/${stamp}.json`, import.meta.url).pathname;
mkdirSync(new URL('./results/', import.meta.url).pathname, { recursive: true });
const save = () => writeFileSync(out, JSON.stringify({ options: opt, results }, null, 2));

if (Number(opt.size) > 0) {
  for (const design of designs) {
    const r = await sizeOnce(design, Number(opt.size));
    results.push(r);
    save();
    console.log(`${design.name} ${r.jobs} queued: ${r.totalMiB.toFixed(1)} MiB, ${r.bytesPerJob.toFixed(0)} B/job (${r.bytesPerJobWithoutEvents.toFixed(0)} without events)`, JSON.stringify(r.tables));
  }
} else {
  const rounds = Number(opt.rounds);
  for (let round = 0; round < rounds; round++) {
    const order = designs.map((_, i) => designs[(i + round) % designs.length]);
    for (const design of order) {
      const r = await drainOnce(design, round);
      results.push(r);
      save();
      const d = r.drain;
      console.log(`round ${round} ${design.name}: relay pg ${r.relay.pgUs.toFixed(1)} client ${r.relay.clientUs.toFixed(1)} µs/job${r.relay.js ? ` (text in JS: pg ${r.relay.js.pgUs.toFixed(1)} client ${r.relay.js.clientUs.toFixed(1)})` : ''}; drain ${d.jobsPerSec.toFixed(0)} jobs/s, CPU/job pg ${d.pgUs.toFixed(1)} client ${d.clientUs.toFixed(1)} redis ${d.redisUs.toFixed(1)} = ${d.totalUs.toFixed(1)} µs, WAL ${d.walB.toFixed(0)} B/job, claimed ${d.claimed} refused ${d.refused}; insert ${r.insert.jobsPerSec.toFixed(0)}/s pg ${r.insert.pgUs.toFixed(1)} µs WAL ${r.insert.walB.toFixed(0)} B; ${JSON.stringify(r.hot)} fencing ${JSON.stringify(r.fencing)}`);
    }
  }
  console.log('\nmedians over rounds:');
  console.log('design | drain jobs/s | pg µs | client µs | redis µs | total µs | WAL B/job | relay pg+client µs | insert pg µs | insert WAL B/job');
  for (const design of designs) {
    const rs = results.filter((r) => r.design === design.name);
    const m = (f) => median(rs.map(f));
    console.log(`${design.name} | ${m((r) => r.drain.jobsPerSec).toFixed(0)} | ${m((r) => r.drain.pgUs).toFixed(1)} | ${m((r) => r.drain.clientUs).toFixed(1)} | ${m((r) => r.drain.redisUs).toFixed(1)} | ${m((r) => r.drain.totalUs).toFixed(1)} | ${m((r) => r.drain.walB).toFixed(0)} | ${m((r) => r.relay.pgUs + r.relay.clientUs).toFixed(1)} | ${m((r) => r.insert.pgUs).toFixed(1)} | ${m((r) => r.insert.walB).toFixed(0)}`);
  }
}
console.log(`raw results: ${out}`);
