import type pg from 'pg';
import type { TransitionResult } from '../../domain/outcomes.js';
import type { JobState } from '../../domain/states.js';
import type { TransitionRequest } from '../../ports/store.js';
import { toJob, type JobRow } from '../sql/job-rows.js';
import * as Q from './queries.js';
import { PG_TYPES } from './rows.js';

/**
 * A batch of transitions inside the caller's transaction. Locks every job of the batch first (one
 * statement, in id order) and decides each request's outcome from the locked rows, in request
 * order, as if the moves ran one by one; then writes the moves that hold with one statement per
 * round (a round holds at most one move per job, so a job moved twice in one batch gets two rounds).
 */
export async function transitionBatch(client: pg.PoolClient, requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
  const ids = [...new Set(requests.map((r) => r.id))];
  type Locked = { id: string; state: JobState; lease_token: string | null };
  const locked = await client.query<Locked>({ name: 'docket_lock_jobs', text: Q.LOCK_JOBS, values: [ids], types: PG_TYPES });
  const current = new Map(locked.rows.map((r) => [r.id, r]));
  const results: TransitionResult[] = new Array(requests.length);
  const rounds: { request: TransitionRequest; index: number; from: JobState }[][] = [];
  const moves = new Map<string, number>();
  requests.forEach((r, index) => {
    const job = current.get(r.id);
    if (!job) results[index] = { ok: false, reason: 'not_found' };
    else if (!r.from.includes(job.state)) results[index] = { ok: false, reason: 'wrong_state', state: job.state };
    else if (r.leaseToken !== undefined && job.lease_token !== r.leaseToken) {
      results[index] = { ok: false, reason: 'lease_mismatch', state: job.state };
    } else {
      const round = moves.get(r.id) ?? 0;
      moves.set(r.id, round + 1);
      (rounds[round] ??= []).push({ request: r, index, from: job.state });
      job.state = r.to;
      if (r.patch.leaseToken !== undefined) job.lease_token = r.patch.leaseToken;
    }
  });
  for (const round of rounds) {
    const { rows } = await client.query<JobRow>({
      name: 'docket_apply_transitions',
      text: Q.APPLY_TRANSITIONS,
      values: transitionArrays(round.map((m) => m.request)),
      types: PG_TYPES,
    });
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const m of round) results[m.index] = { ok: true, job: toJob(byId.get(m.request.id)!), from: m.from };
  }
  return results;
}

/** The arrays of Q.APPLY_TRANSITIONS: id, to, now, then a flag and a value per patch field. */
function transitionArrays(requests: readonly TransitionRequest[]): unknown[] {
  const values: unknown[] = [requests.map((r) => r.id), requests.map((r) => r.to), requests.map((r) => r.now)];
  for (const [key] of Q.PATCH_FIELDS) {
    values.push(requests.map((r) => r.patch[key] !== undefined));
    values.push(
      requests.map((r) => {
        const v = r.patch[key];
        if (v === undefined || v === null) return key === 'result' && v === null ? 'null' : null;
        return key === 'result' || key === 'error' || key === 'progress' ? JSON.stringify(v) : v;
      }),
    );
  }
  return values;
}
