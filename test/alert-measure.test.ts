// What each alert rule measures and says when there is little or nothing to measure (no ready job,
// too few finished jobs, no open condition), on both deployments' stores and worker directories.
import { describe, expect, it } from 'vitest';
import type { AlertRule } from '../src/domain/alerts.js';
import { Measurer } from '../src/services/alerts/measure.js';
import { describeOnManualDeployments, type ManualEngine } from './helpers/deployments.js';

const rule = (r: Partial<AlertRule> & Pick<AlertRule, 'kind'>): AlertRule => ({ name: r.kind, queue: null, threshold: 0, windowMs: 0, forMs: 0, ...r });

/** Fails `n` jobs of `queue` for good and completes `ok` of them. */
async function finish(e: ManualEngine, queue: string, failed: number, ok: number): Promise<void> {
  await e.docket.jobs.submitter.submit(Array.from({ length: failed + ok }, () => ({ type: 't', queue, maxAttempts: 1 })), { tenant: 'acme' });
  const jobs = await e.docket.jobs.claims.claim({ workerId: 'w', queues: [queue], max: failed + ok });
  for (const [i, job] of jobs.entries()) {
    if (i < ok) await e.docket.jobs.outcomes.complete(job.id, job.leaseToken!, null);
    else await e.docket.jobs.outcomes.fail(job.id, job.leaseToken!, { message: 'boom', retryable: false });
  }
  await e.docket.jobs.outcomes.drain();
}

describe('alert measurements', () => {
  describeOnManualDeployments({}, (open) => {
    const measure = (e: ManualEngine, r: AlertRule) => new Measurer(e.store, e.docket.workers, e.clock.now()).measure(r);

    it('queue-depth and oldest-ready of a queue with no jobs: zero, and "no ready job"', async () => {
      const e = await open();
      expect(await measure(e, rule({ kind: 'queue-depth', queue: 'empty', threshold: 5 }))).toEqual({ value: 0, breached: false, message: 'queue empty: 0 ready jobs (alert above 5)' });
      expect(await measure(e, rule({ kind: 'oldest-ready', queue: 'empty', threshold: 60 }))).toEqual({ value: 0, breached: false, message: 'queue empty: no ready job' });
    });

    it('failure-rate: no finished job is a rate of 0; fewer than minJobs never breaches, and the message says why', async () => {
      const e = await open();
      const failing = rule({ kind: 'failure-rate', queue: 'work', threshold: 0.5, windowMs: 600_000, minJobs: 3 });
      expect(await measure(e, failing)).toMatchObject({ value: 0, breached: false });
      await finish(e, 'work', 2, 0);
      const few = await measure(e, failing);
      expect(few).toMatchObject({ value: 1, breached: false });
      expect(few.message).toBe('queue work: 2 of 2 jobs ended failed in the last 600 s, a rate of 1 (alert above 0.5, with at least 3 jobs)');
      // Without minJobs, one finished job is enough.
      expect(await measure(e, { ...failing, minJobs: undefined })).toMatchObject({ value: 1, breached: true });
    });

    it('dead-letter-growth counts one queue, or every queue when none is named', async () => {
      const e = await open();
      await finish(e, 'a', 2, 1);
      await finish(e, 'b', 1, 0);
      expect(await measure(e, rule({ kind: 'dead-letter-growth', queue: 'a', threshold: 1, windowMs: 60_000 }))).toMatchObject({ value: 2, breached: true });
      const all = await measure(e, rule({ kind: 'dead-letter-growth', threshold: 5, windowMs: 60_000 }));
      expect(all).toMatchObject({ value: 3, breached: false });
      expect(all.message).toMatch(/3 new dead letters in the last 60 s \(alert above 5\)$/);
    });

    it('no-worker counts workers of every queue and of "*" as serving the queue, and not those of other queues', async () => {
      const e = await open();
      const nobody = rule({ kind: 'no-worker', queue: 'remote' });
      expect(await measure(e, nobody)).toMatchObject({ value: 0, breached: true });
      await e.docket.workers.register({ queues: ['other'], name: 'elsewhere' });
      expect(await measure(e, nobody)).toMatchObject({ value: 0, breached: true });
      await e.docket.workers.register({ queues: ['*'], name: 'any' });
      await e.docket.workers.register({ queues: [], name: 'unfiltered' });
      expect(await measure(e, nobody)).toMatchObject({ value: 2, breached: false, message: 'queue remote: 2 live remote workers' });
    });

    it('condition-open: none open, and the longest of several that match, saying how many', async () => {
      const e = await open();
      const payments = rule({ kind: 'condition-open', condition: 'service:pay*', threshold: 60 });
      expect(await measure(e, payments)).toEqual({ value: 0, breached: false, message: 'no condition service:pay* is open' });
      const park = async (condition: string) => {
        // A queue of its own for each (a second claim on one shared queue came back empty).
        const queue = condition.replace(':', '-');
        await e.docket.jobs.submitter.submit([{ type: 't', queue }], { tenant: 'acme' });
        const [job] = await e.docket.jobs.claims.claim({ workerId: 'w', queues: [queue], max: 1 });
        await e.docket.jobs.outcomes.fail(job!.id, job!.leaseToken!, { message: 'down', condition });
      };
      await park('service:payments');
      e.clock.advance(30_000);
      await park('service:payouts');
      await park('service:search');
      e.clock.advance(45_000);
      expect(await measure(e, payments)).toEqual({ value: 75, breached: true, message: 'condition service:payments has been open 75 s (alert above 60 s) (2 conditions match service:pay*)' });
    });
  });
});
