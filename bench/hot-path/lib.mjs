// Shared helpers of the hot-path prototypes: ids, the jobs a bench submits, /proc CPU, sizes.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

const TICK = 100; // USER_HZ

/** CPU seconds (user + system) of a process; 0 when it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** This process's CPU seconds. */
export function ownCpu() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// UUIDv7-shaped ids, increasing within the run (ms timestamp, then a counter): what Docket's ids
// look like, and in creation order, as its ids sort.
let last = 0;
let counter = 0;
export function newId() {
  const now = Date.now();
  if (now !== last) {
    last = now;
    counter = 0;
  }
  counter++;
  const ts = now.toString(16).padStart(12, '0');
  const rnd = randomUUID().replace(/-/g, '');
  const c = counter.toString(16).padStart(6, '0');
  const hex = ts + '7' + c.slice(0, 3) + '8' + c.slice(3) + rnd.slice(0, 12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A no-op job as the benchmark submits it (`{ type: 'noop' }`, defaults filled in as Docket does). */
export function newJobs(n, now) {
  const jobs = new Array(n);
  for (let i = 0; i < n; i++) {
    jobs[i] = {
      id: newId(), tenant: 'bench', queue: 'default', type: 'noop', payloadJson: 'null', priority: 5, labels: '{}',
      state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3,
      backoff: '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}', createdAt: now,
    };
  }
  return jobs;
}

/** A client whose tables live in `schema`; application_name marks it as the prototype's. */
export async function connect(url, schema) {
  const client = new pg.Client({ connectionString: url, application_name: `hot-path:${schema}`, options: `-c search_path=${schema}` });
  await client.connect();
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  client.backendPid = rows[0].pid;
  return client;
}

export const walLsn = async (client) => (await client.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
export const walBytes = async (client, from, to) => Number((await client.query('SELECT pg_wal_lsn_diff($1, $2) AS b', [to, from])).rows[0].b);

/** Bytes of every table, index and TOAST of a schema, by table (with its indexes and TOAST). */
export async function schemaSizes(client, schema) {
  const { rows } = await client.query(
    `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes, pg_relation_size(c.oid) AS heap
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'm') ORDER BY 2 DESC`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
}

/** Updates and HOT updates of a schema's tables since the statistics were reset. */
export async function hotCounts(client, schema) {
  const { rows } = await client.query(
    `SELECT relname, n_tup_upd, n_tup_hot_upd, n_tup_del, n_tup_ins FROM pg_stat_user_tables WHERE schemaname = $1`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { upd: Number(r.n_tup_upd), hot: Number(r.n_tup_hot_upd), del: Number(r.n_tup_del), ins: Number(r.n_tup_ins) }]));
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const tokens = (n) => Array.from({ length: n }, () => randomUUID());
