// How to write a batch in one go in better-sqlite3 (which has no carray or generate_series):
// claim + complete of --jobs ready rows of the narrow `hot` table in batches of --batch, four ways:
//   loop      one prepared UPDATE per job inside the batch's transaction (today's way)
//   json      one UPDATE per batch, ids as a JSON array of hex: `id IN (SELECT unhex(value) FROM json_each(?))`
//   params    one UPDATE per batch, `id IN (?, ?, ..., ?)` with --batch blob parameters (short batches padded with NULL)
//   vtab      one UPDATE per batch, `id IN (SELECT id FROM batch_ids)`, a table-valued function written in JS (db.table)
// Variants interleaved (order rotated each round), a fresh file per run; prints the median CPU µs per job.
//   node bench/hot-path-embedded/statements.mjs --jobs 50000 --batch 100 --rounds 3
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { idBlob, median, uuidv7 } from './lib/common.mjs';

const { values: args } = parseArgs({ options: { jobs: { type: 'string', default: '50000' }, batch: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' } } });
const N = Number(args.jobs);
const B = Number(args.batch);
const METHODS = ['loop', 'json', 'params', 'vtab'];

function run(method) {
  const dir = mkdtempSync(join(tmpdir(), 'hot-path-stmts-'));
  const db = new Database(join(dir, 's.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE hot (id BLOB PRIMARY KEY, state INTEGER NOT NULL, queue TEXT NOT NULL, priority INTEGER NOT NULL,
    run_at INTEGER NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, lease INTEGER, lease_expires_at INTEGER, started_at INTEGER,
    finished_at INTEGER, updated_at INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX hot_ready ON hot (queue, priority, run_at, id) WHERE state = 0;`);
  const ins = db.prepare("INSERT INTO hot (id, state, queue, priority, run_at, updated_at) VALUES (?, 0, 'default', 5, ?, ?)");
  const ids = Array.from({ length: N }, () => uuidv7());
  db.transaction(() => ids.forEach((id) => ins.run(idBlob(id), 1, 1)))();
  const blobs = ids.map(idBlob);
  const hexes = ids.map((id) => id.replaceAll('-', ''));
  const CLAIM = 'SET state = 1, attempt = attempt + 1, lease = @lease, lease_expires_at = @now, started_at = @now, updated_at = @now';
  const DONE = 'SET state = 2, lease_expires_at = NULL, finished_at = @now, updated_at = @now';
  let current = [];
  if (method === 'vtab') {
    db.table('batch_ids', { columns: ['id'], rows: function* () { for (const b of current) yield [b]; } });
  }
  const where = {
    loop: 'id = @id',
    json: 'id IN (SELECT unhex(value) FROM json_each(@ids))',
    params: `id IN (${Array.from({ length: B }, (_, i) => `@p${i}`).join(', ')})`,
    vtab: 'id IN (SELECT id FROM batch_ids)',
  }[method];
  const claim = db.prepare(`UPDATE hot ${CLAIM} WHERE ${where} AND state = 0`);
  const done = db.prepare(`UPDATE hot ${DONE} WHERE ${where} AND state = 1 AND lease = @lease`);
  const paramsOf = (from, to) => {
    const p = {};
    for (let i = 0; i < B; i++) p[`p${i}`] = from + i < to ? blobs[from + i] : null;
    return p;
  };
  const step = db.transaction((stmt, from, to, lease, now) => {
    if (method === 'loop') {
      let n = 0;
      for (let i = from; i < to; i++) n += stmt.run({ id: blobs[i], lease, now }).changes;
      return n;
    }
    if (method === 'json') return stmt.run({ ids: JSON.stringify(hexes.slice(from, to)), lease, now }).changes;
    if (method === 'params') return stmt.run({ ...paramsOf(from, to), lease, now }).changes;
    current = blobs.slice(from, to);
    return stmt.run({ lease, now }).changes;
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < N; i += B) {
    const to = Math.min(N, i + B);
    step(claim, i, to, i, 2);
    ok += step(done, i, to, i, 3);
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  if (ok !== N) throw new Error(`${method}: ${ok} of ${N} completed`);
  return { cpuUs: (c.user + c.system) / N, perS: N / (wall / 1000) };
}

const results = Object.fromEntries(METHODS.map((m) => [m, []]));
for (let r = 0; r < Number(args.rounds); r++) {
  for (let k = 0; k < METHODS.length; k++) {
    const m = METHODS[(r + k) % METHODS.length];
    results[m].push(run(m));
  }
}
for (const m of METHODS) {
  const cpu = results[m].map((x) => x.cpuUs);
  const rate = results[m].map((x) => x.perS);
  console.log(JSON.stringify({ method: m, batch: B, cpuUsPerJob: +median(cpu).toFixed(2), pairsPerS: Math.round(median(rate)), rawCpuUs: cpu.map((x) => +x.toFixed(2)) }));
}
