// A: today's schema and statements, unchanged. The schema comes from Docket's own migration files
// and the statements from its compiled queries (DOCKET_DIST, default /work/main/dist), so this is
// the baseline as it runs: wide jobs row, jobs_state index (every claim and completion non-HOT),
// event rows built per job by the statements and the insert trigger.
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const DIST = process.env.DOCKET_DIST ?? '/work/main/dist';
const MIGRATIONS = `${DIST}/adapters/postgres/migrations/`;
const Q = await import(pathToFileURL(`${DIST}/adapters/postgres/queries.js`).href);

export const name = 'A';
export const label = "A today's schema";

export async function setup(client) {
  for (const file of readdirSync(MIGRATIONS).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort()) {
    await client.query(readFileSync(MIGRATIONS + file, 'utf8'));
  }
}

export async function insert(client, jobs) {
  const cols = Array.from({ length: 19 }, () => new Array(jobs.length));
  jobs.forEach((j, i) => {
    const v = [j.id, j.tenant, j.queue, j.type, j.payloadJson, j.priority, j.labels, j.state, j.runAt, j.expiresAt, j.timeoutMs,
      j.maxAttempts, j.backoff, j.id, null, j.createdAt, null, null, null];
    v.forEach((x, c) => (cols[c][i] = x));
  });
  await client.query({ name: 'a_insert', text: Q.INSERT_JOBS, values: cols });
}

/** ids sorted (as the store sorts them); returns the rows claimed. */
export async function claim(client, ids, toks, lease) {
  const { rows } = await client.query({ name: 'a_claim', text: Q.CLAIM_JOBS, values: [ids, toks, lease.expiresAt, lease.workerId, lease.now] });
  return rows.filter((r) => !r.expired).length;
}

/** Returns how many were refused. */
export async function complete(client, ids, toks, now) {
  const { rows } = await client.query({ name: 'a_complete', text: Q.COMPLETE_JOBS, values: [ids, toks, ids.map(() => null), now] });
  return rows.filter((r) => r.settled === null).length;
}

export async function readById(client, id) {
  const { rows } = await client.query({ text: Q.GET_JOB, values: [id] });
  return rows[0] ? { state: rows[0].state, attempt: rows[0].attempt } : null;
}
