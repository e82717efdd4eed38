// D: one PostgreSQL write per job on the hot path. The lease (token, attempt, worker, start) lives
// in Redis and is fenced there by Lua; PostgreSQL is written at submit (the spec) and at the
// outcome (a job_done row, ON CONFLICT DO NOTHING: at most one outcome per job). A ready job has no
// state row at all; state rows exist only for the cold states (scheduled, waiting, retrying,
// blocked). Claims read the spec (the worker needs the payload) in the statement that appends the
// batch's `started` event row. Events are compact (E). So D here is D + C + E.
import { SPECS, DONE, EVENTS_COMPACT, specArrays, SPEC_UNNEST, SPEC_INSERT } from './schema.mjs';

// KEYS[1] leases hash id -> token|attempt|worker|startedAt, KEYS[2] lease deadlines (zset)
// ARGV[1] deadline, ARGV[2] worker, ARGV[3] now, ARGV[4] "id token attempt-before id token ..."
// (one string: a few hundred separate arguments cost the client more than the script's work)
// A job already leased is skipped. Returns the ids leased.
const LEASE = `
local leased, deadlines = {}, {}
for id, token, attempt in string.gmatch(ARGV[4], '(%S+) (%S+) (%S+)') do
  if redis.call('HSETNX', KEYS[1], id, token .. '|' .. (tonumber(attempt) + 1) .. '|' .. ARGV[2] .. '|' .. ARGV[3]) == 1 then
    leased[#leased + 1] = id
    deadlines[#deadlines + 1] = ARGV[1]
    deadlines[#deadlines + 1] = id
  end
end
if #deadlines > 0 then redis.call('ZADD', KEYS[2], unpack(deadlines)) end
return leased`;

// KEYS[1] leases, KEYS[2] lease deadlines, KEYS[3] completing (zset: id -> deadline for its
// PostgreSQL write; a sweeper gives back ids whose outcome row never appeared)
// ARGV[1] completing deadline, ARGV[2] "id token id token ..."
// The fence: only the current token's holder takes the lease away. Returns, per pair, the lease
// (token|attempt|worker|startedAt) or false when refused.
const RELEASE = `
local out, gone, completing = {}, {}, {}
for id, token in string.gmatch(ARGV[2], '(%S+) (%S+)') do
  local lease = redis.call('HGET', KEYS[1], id)
  if lease and string.sub(lease, 1, #token + 1) == token .. '|' then
    out[#out + 1] = lease
    gone[#gone + 1] = id
    completing[#completing + 1] = ARGV[1]
    completing[#completing + 1] = id
  else
    out[#out + 1] = false
  end
end
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
  redis.call('ZADD', KEYS[3], unpack(completing))
end
return out`;

const INSERT = `WITH j AS (SELECT * FROM ${SPEC_UNNEST}),
s AS (${SPEC_INSERT}),
logged AS (INSERT INTO events (at, type, ids) SELECT max(created_at), 'submitted', array_agg(id ORDER BY id) FROM j HAVING count(*) > 0)
SELECT count(*) FROM j`;

// The started events of a batch: a row that only says which jobs started, committed without
// waiting for its flush (as today's claims are); the spec read for the worker rides along.
const STARTED = `WITH async AS (SELECT set_config('synchronous_commit', 'off', true) AS setting),
logged AS (INSERT INTO events (at, type, worker_id, ids, attempts) SELECT $2, 'started', $3, $1::uuid[], $4::smallint[] FROM async)
SELECT sp.id, sp.tenant, sp.queue, sp.type, sp.payload, sp.priority, sp.labels, sp.run_at, sp.expires_at, sp.timeout_ms,
  sp.max_attempts, sp.backoff, sp.link_id, sp.resubmitted_from, sp.created_at, sp.template_id, sp.template_version
FROM job_specs sp WHERE sp.id = ANY($1::uuid[])`;

// The outcome: one append per job, synchronous. Returns the completed jobs that have dependents.
const OUTCOME = `WITH c AS (SELECT * FROM unnest($1::uuid[], $2::smallint[], $3::text[], $4::bigint[], $5::text[]) AS c(id, attempt, worker_id, started_at, result)),
moved AS (INSERT INTO job_done (id, finished_at, started_at, attempt, state, worker_id, result)
  SELECT id, $6, started_at, attempt, 'succeeded', worker_id, result::json FROM c ON CONFLICT (id) DO NOTHING RETURNING id, attempt),
logged AS (INSERT INTO events (at, type, ids, attempts) SELECT $6, 'succeeded', array_agg(id ORDER BY id), array_agg(attempt ORDER BY id) FROM moved HAVING count(*) > 0)
SELECT m.id, sp.has_dependents FROM moved m JOIN job_specs sp ON sp.id = m.id`;

const READ = `SELECT coalesce(f.state, 'ready') AS state, coalesce(f.attempt, 0) AS attempt, sp.payload
  FROM job_specs sp LEFT JOIN job_done f ON f.id = sp.id WHERE sp.id = $1`;

export const name = 'D';
export const label = 'D lease in Redis (+C+E)';
let redis;
let keys;

export async function setup(client, r, prefix) {
  redis = r;
  keys = { leases: `${prefix}leases`, deadlines: `${prefix}deadlines`, completing: `${prefix}completing` };
  redis.defineCommand('hpLease', { numberOfKeys: 2, lua: LEASE });
  redis.defineCommand('hpRelease', { numberOfKeys: 3, lua: RELEASE });
  await client.query(SPECS + `ALTER TABLE job_specs ADD COLUMN has_dependents boolean NOT NULL DEFAULT false;` + DONE + EVENTS_COMPACT);
}

export async function insert(client, jobs) {
  await client.query({ name: 'd_insert', text: INSERT, values: specArrays(jobs) });
}

export async function claim(client, ids, toks, lease) {
  // A fresh job: attempt 0 before this one (the dispatch entry carries it).
  const packed = ids.map((id, i) => `${id} ${toks[i]} 0`).join(' ');
  const leased = await redis.hpLease(keys.leases, keys.deadlines, lease.expiresAt, lease.workerId, lease.now, packed);
  if (leased.length === 0) return 0;
  const { rows } = await client.query({ name: 'd_started', text: STARTED, values: [leased, lease.now, lease.workerId, leased.map(() => 1)] });
  return rows.length;
}

export async function complete(client, ids, toks, now) {
  const packed = ids.map((id, i) => `${id} ${toks[i]}`).join(' ');
  const leases = await redis.hpRelease(keys.leases, keys.deadlines, keys.completing, now + 30_000, packed);
  const ok = [];
  leases.forEach((l, i) => l && ok.push([ids[i], ...l.split('|')]));
  if (ok.length > 0) {
    await client.query({
      name: 'd_outcome',
      text: OUTCOME,
      values: [ok.map((o) => o[0]), ok.map((o) => Number(o[2])), ok.map((o) => o[3]), ok.map((o) => Number(o[4])), ok.map(() => null), now],
    });
    // Written: the ids leave the completing set (a sweeper would otherwise check them against job_done).
    await redis.zrem(keys.completing, ...ok.map((o) => o[0]));
  }
  return ids.length - ok.length;
}

export async function readById(client, id) {
  const { rows } = await client.query({ text: READ, values: [id] });
  if (!rows[0]) return null;
  // 'running' is read from Redis, as the reference design keeps live status there.
  const lease = rows[0].state === 'ready' ? await redis.hget(keys.leases, id) : null;
  return lease ? { state: 'running', attempt: Number(lease.split('|')[1]) } : { state: rows[0].state, attempt: rows[0].attempt };
}
