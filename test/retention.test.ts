// Retention (docs/recovery.md#retention): the pruner deletes finished jobs past their queue's age
// and count, state by state, and nothing else. Both deployments, on a manual clock, the pruner
// run by hand.
import { describe, expect, it } from 'vitest';
import { parseConfigFile } from '../src/config/file.js';
import { describeOnManualDeployments, type ManualEngine } from './helpers/deployments.js';

const HOUR = 3_600_000;

const rules = parseConfigFile({
  retention: {
    default: { succeeded: { maxAgeSeconds: 3600 }, failed: {} },
    queues: { emails: { succeeded: { maxCount: 2 } }, audit: { cancelled: { maxAgeSeconds: 60, maxCount: 1 } } },
  },
});

/** Submits `n` jobs to `queue` and finishes each as `outcome`, one clock step apart; their ids, oldest first. */
async function finished(e: ManualEngine, queue: string, n: number, outcome: 'succeeded' | 'failed' | 'cancelled'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const [job] = await e.service.submitter.submit([{ type: 't', queue, maxAttempts: 1 }], { tenant: 't1' });
    if (outcome === 'cancelled') {
      await e.service.cancels.cancel(job!.id);
    } else {
      const [run] = await e.service.claims.claim({ workerId: 'w', queues: [queue], max: 1 });
      expect(run!.id).toBe(job!.id);
      if (outcome === 'succeeded') await e.service.outcomes.complete(run!.id, run!.leaseToken!, null);
      else await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'boom' });
    }
    expect((await e.service.queries.get(job!.id))!.state).toBe(outcome);
    ids.push(job!.id);
    e.clock.advance(1000);
  }
  return ids;
}

const kept = async (e: ManualEngine, ids: string[]) => (await Promise.all(ids.map(async (id) => ((await e.service.queries.get(id)) ? id : null)))).filter((id) => id !== null);

describe('retention', () => {
  describeOnManualDeployments({ rules }, (open) => {
    it('deletes succeeded jobs once older than the default age, not a moment before, and leaves running and ready jobs', async () => {
      const e = await open();
      const done = await finished(e, 'default', 3, 'succeeded');
      const [waiting] = await e.service.submitter.submit([{ type: 't' }], { tenant: 't1' });
      // The oldest finished 3 s ago; it turns one hour old 1 h - 3 s from now.
      e.clock.advance(HOUR - 3000);
      expect(await e.docket.pruner.runOnce()).toBe(0);
      e.clock.advance(1);
      expect(await e.docket.pruner.runOnce()).toBe(1);
      expect(await kept(e, done)).toEqual(done.slice(1));
      e.clock.advance(2000);
      expect(await e.docket.pruner.runOnce()).toBe(2);
      expect(await kept(e, done)).toEqual([]);
      expect((await e.service.queries.get(waiting!.id))!.state).toBe('ready');
    });

    it('keeps failed jobs with an empty rule for good, and a queue\'s own count rule replaces the default age', async () => {
      const e = await open();
      const dead = await finished(e, 'default', 2, 'failed');
      const emails = await finished(e, 'emails', 4, 'succeeded');
      e.clock.advance(1000 * HOUR);
      // emails keeps its 2 newest succeeded jobs whatever their age; dead letters stay.
      expect(await e.docket.pruner.runOnce()).toBe(2);
      expect(await kept(e, emails)).toEqual(emails.slice(2));
      expect(await kept(e, dead)).toEqual(dead);
      expect(await e.docket.pruner.runOnce()).toBe(0);
    });

    it('applies age and count together: a job goes when either says so', async () => {
      const e = await open();
      const cancelled = await finished(e, 'audit', 3, 'cancelled');
      // All three within the age: the count (1) alone deletes the two oldest.
      expect(await e.docket.pruner.runOnce()).toBe(2);
      expect(await kept(e, cancelled)).toEqual(cancelled.slice(2));
      // The newest then passes the age.
      e.clock.advance(60_000);
      expect(await e.docket.pruner.runOnce()).toBe(1);
      expect(await kept(e, cancelled)).toEqual([]);
    });
  });
});
