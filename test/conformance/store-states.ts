import { describe, expect, it } from 'vitest';
import { JOB_STATES, TRANSITIONS, type JobState } from '../../src/domain/states.js';
import type { Store } from '../../src/ports/store.js';
import { T0, insert } from './fixtures.js';

/**
 * One job in each state, all holding lease token `tok` and past their expiresAt at `later`: put
 * there by a claim and then a raw store transition (the store writes any move; the table is
 * checked above it, which is what these tests compare the SQL's own state lists with).
 */
async function oneJobPerState(store: Store): Promise<Map<JobState, string>> {
  const ids = new Map<JobState, string>();
  for (const state of JOB_STATES) {
    const job = await insert(store, { expiresAt: T0 + 1000 });
    const { claimed } = await store.claimJobs([{ id: job.id, leaseToken: 'tok' }], 'w1', T0 + 60_000, T0);
    if (claimed.length !== 1) throw new Error(`setup: could not claim ${job.id}`);
    if (state !== 'running') {
      const [moved] = await store.transition([{ id: job.id, from: ['running'], to: state, patch: {}, now: T0 }]);
      if (!moved?.ok) throw new Error(`setup: could not move ${job.id} to ${state}`);
    }
    ids.set(state, job.id);
  }
  return ids;
}

/** The states the transition table lets move to `to`. */
const legalInto = (to: JobState) => JOB_STATES.filter((from) => TRANSITIONS[from][to] !== undefined);

/** The engines' own guards (claim, complete, expire) apply from exactly the states the transition table allows. */
export function describeStoreStateLists(ctx: { readonly store: Store }): void {
  describe('state guards follow the transition table', () => {
    const later = T0 + 2000;

    it('findExpired returns the jobs of exactly the states that may move to expired', async () => {
      const ids = await oneJobPerState(ctx.store);
      const found = await ctx.store.findExpired(later, 100);
      const states = JOB_STATES.filter((s) => found.some((j) => j.id === ids.get(s)));
      expect(states).toEqual(legalInto('expired'));
    });

    it('claimJobs takes jobs of exactly the states that may move to running', async () => {
      const ids = await oneJobPerState(ctx.store);
      // Before expiresAt, so that a claimable job is claimed rather than expired.
      const { claimed } = await ctx.store.claimJobs(JOB_STATES.map((s) => ({ id: ids.get(s)!, leaseToken: `new-${s}` })), 'w2', T0 + 90_000, T0 + 500);
      const states = JOB_STATES.filter((s) => claimed.some((j) => j.id === ids.get(s) && j.leaseToken === `new-${s}`));
      expect(states).toEqual(legalInto('running'));
    });

    it('completeJobs completes jobs of exactly the states that may move to succeeded, and names the state of the others', async () => {
      const ids = await oneJobPerState(ctx.store);
      const results = await ctx.store.completeJobs(JOB_STATES.map((s) => ({ id: ids.get(s)!, leaseToken: 'tok', result: null })), later);
      expect(JOB_STATES.filter((_, i) => results[i]!.ok)).toEqual(legalInto('succeeded'));
      JOB_STATES.forEach((s, i) => {
        if (!results[i]!.ok) expect(results[i]).toEqual({ ok: false, reason: 'wrong_state', state: s });
      });
    });
  });
}
