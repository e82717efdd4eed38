import type pg from 'pg';
import { keyHolds } from '../../domain/dedup.js';
import type { Job } from '../../domain/job.js';
import type { DedupKey, NewJob } from '../../ports/store.js';
import * as DQ from './dedup-queries.js';
import * as Q from './queries.js';
import { PG_TYPES } from './rows.js';
import { toJob, type JobRow } from '../sql/job-rows.js';

/** Rounds of take / read / take over before giving up: each lost round means another submit won a change of the key. */
const MAX_ROUNDS = 20;

/**
 * Inside the caller's transaction (READ COMMITTED): takes `k` for `job` and returns null, or
 * returns the live job that holds it. Every step is a fresh statement, so each sees what
 * concurrent submits committed while it waited on the key's row; the job insert that follows is in
 * the same transaction, so a holder is visible exactly when its job is.
 */
export async function takeDedupKey(client: pg.PoolClient, job: NewJob, k: DedupKey): Promise<Job | null> {
  const q = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => client.query<R>({ text, values, types: PG_TYPES });
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if ((await q(DQ.TRY_TAKE_DEDUP_KEY, [job.tenant, k.key, job.id, k.expiresAt])).rowCount === 1) return null;
    const held = (await q<{ jobId: string; expiresAt: number; state: string | null }>(DQ.READ_DEDUP_KEY, [job.tenant, k.key])).rows[0];
    if (!held) continue; // pruned in between: take it again
    if (keyHolds(held.expiresAt, held.state, job.createdAt)) {
      const row = (await q<JobRow>(Q.GET_JOB, [held.jobId])).rows[0];
      if (row) return toJob(row);
    }
    if ((await q(DQ.TAKE_OVER_DEDUP_KEY, [job.tenant, k.key, job.id, k.expiresAt, held.jobId])).rowCount === 1) return null;
  }
  throw new Error(`dedup key ${k.key} of tenant ${job.tenant} kept changing hands over ${MAX_ROUNDS} rounds`);
}
