import { describe, expect, it } from 'vitest';
import { describeOnManualDeployments } from './helpers/deployments.js';

describeOnManualDeployments({}, (open) => {
  describe('job services', () => {
    it('submits, claims and completes a job', async () => {
      const { service } = await open();
      const [job] = await service.submitter.submit([{ type: 'email', payload: { to: 'a@b.c' } }], { tenant: 't1' });
      expect(job!.state).toBe('ready');
      const [claimed] = await service.claims.claim({ workerId: 'w1', queues: ['default'], max: 10 });
      expect(claimed!.id).toBe(job!.id);
      expect(claimed!.state).toBe('running');
      expect(claimed!.attempt).toBe(1);
      const res = await service.outcomes.complete(claimed!.id, claimed!.leaseToken!, { sent: true });
      expect(res.ok).toBe(true);
      const stored = await service.queries.get(job!.id);
      expect(stored!.state).toBe('succeeded');
      expect(stored!.result).toEqual({ sent: true });
    });

    it('cuts a progress message at 10,000 characters, as it does error messages (its events must fit a Kafka record)', async () => {
      const { service } = await open();
      await service.submitter.submit([{ type: 'resize' }], { tenant: 't1' });
      const [claimed] = await service.claims.claim({ workerId: 'w1', queues: ['default'], max: 1 });
      expect((await service.outcomes.progress(claimed!.id, claimed!.leaseToken!, 10, 'm'.repeat(25_000))).ok).toBe(true);
      expect((await service.queries.get(claimed!.id))!.progress).toEqual({ percent: 10, message: `${'m'.repeat(10_000)}… (15000 more characters cut)` });
    });

    it('refuses a move the transition table does not have before writing anything, whoever asks for it', async () => {
      const { service, clock } = await open();
      const [job] = await service.submitter.submit([{ type: 'x' }], { tenant: 't1' });
      const now = clock.now();
      await expect(service.transitions.apply([{ id: job!.id, from: ['ready'], to: 'succeeded', patch: {}, now }])).rejects.toThrow('illegal transition ready -> succeeded');
      await expect(service.transitions.apply([{ id: job!.id, from: ['ready', 'succeeded'], to: 'ready', patch: {}, now }])).rejects.toThrow('illegal transition succeeded -> ready');
      expect(await service.queries.get(job!.id)).toMatchObject({ state: 'ready', updatedAt: job!.updatedAt });
      // A patch that keeps the state (progress) is not a move, and applies.
      expect((await service.transitions.apply([{ id: job!.id, from: ['ready'], to: 'ready', patch: { stateReason: 'noted' }, now }]))[0]).toMatchObject({ ok: true });
    });
  });
});
