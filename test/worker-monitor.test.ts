// The worker monitor on both deployments (manual clock, run by hand): a worker whose heartbeats
// stop is lost, and its jobs go back to their queue with the attempt counted, naming the worker
// by its name, or by its id when it has none.
import { expect, it } from 'vitest';
import { describeOnManualDeployments } from './helpers/deployments.js';

const LEASE_MS = 60_000;

describeOnManualDeployments({ leaseMs: LEASE_MS }, (open) => {
  for (const name of ['w-silent', undefined]) {
    it(`gives back the jobs of a lost worker ${name ? 'named by its name' : 'without a name, named by its id'}, not before its heartbeats are overdue`, async () => {
      const e = await open();
      const workerId = await e.docket.workers.register({ queues: ['work'], ...(name ? { name } : {}) });
      const [job] = await e.service.submitter.submit([{ type: 'x', queue: 'work', maxAttempts: 3 }], { tenant: 't1' });
      const [run] = await e.service.claims.claim({ workerId, queues: ['work'], max: 1 });
      expect(run!.id).toBe(job!.id);

      e.clock.advance(e.docket.workers.heartbeatTimeoutMs);
      expect(await e.docket.monitor.runOnce()).toBe(0);
      expect((await e.service.queries.get(job!.id))!.state).toBe('running');
      e.clock.advance(1);
      expect(await e.docket.monitor.runOnce()).toBe(1);
      const back = (await e.service.queries.get(job!.id))!;
      expect(back).toMatchObject({ state: 'ready', attempt: 1, stateReason: 'worker_lost' });
      expect(back.errors).toEqual([expect.objectContaining({ code: 'worker_lost', attempt: 1, message: expect.stringContaining(`worker ${name ?? workerId}`) })]);
    });
  }
});
