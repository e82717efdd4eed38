import type { Job, JobError } from '../../domain/job.js';
import type { TransitionResult } from '../../domain/outcomes.js';
import { policyFor, probeDelayMs, type RecoveryPolicy } from '../../domain/recovery/policy.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import { RecoveryEvents } from '../recovery-events.js';
import type { Transitions } from './transitions.js';

function gateKey(j: { queue: string; type: string }): string {
  return `${j.queue}\u0000${j.type}`;
}

/**
 * Recovery parking (docs/recovery.md): jobs that hit a known condition wait in `blocked` under one
 * condition record; while it is not closed, a gate holds back claimed jobs of the same queue and
 * type; the recovery loop (services/maintenance/recovery-loop.ts) releases them or gives them up.
 */
export class Parking {
  /** Recovery conditions opening, probing, clearing (services/maintenance/recovery-loop.ts). */
  readonly events = new RecoveryEvents();
  /** `queue \0 type` -> the open condition that holds such jobs back (see refreshGates). */
  private gates = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly clock: Clock,
    private readonly policies: readonly RecoveryPolicy[],
  ) {}

  /** The recovery policy that covers a condition key. */
  policyFor(condition: string): RecoveryPolicy {
    return policyFor(condition, this.policies);
  }

  /**
   * Parks a running job under a recovery condition: it waits in `blocked` with every other job that
   * hit the same condition until the recovery loop releases it. The failed attempt does not count:
   * the condition, not the job, is at fault.
   */
  async park(job: Job, leaseToken: string, condition: string, error: JobError, now: number): Promise<TransitionResult> {
    // Gate first: claims made while this park is being written already hold such jobs back.
    this.gates.set(gateKey(job), condition);
    const record = await this.store.recordConditionFailure(condition, error.message, now, now + probeDelayMs(this.policyFor(condition), 0));
    if (record.failures === 1) this.events.emit({ type: 'opened', condition, queue: job.queue, jobType: job.type, error: error.message, at: now });
    const patch = { error, condition, blockedAt: now, attempt: Math.max(0, job.attempt - 1), leaseExpiresAt: null, stateReason: 'parked' };
    const [res] = await this.transitions.apply([{ id: job.id, from: ['running'], leaseToken, to: 'blocked', patch, now }]);
    return res!;
  }

  /**
   * Reloads the gates: while a condition is not closed, jobs of the queues and types parked under
   * it do not run when claimed but join the parked ones (so a downstream that is down sees only the
   * probes, and after it recovers only the throttled release). Jobs the condition itself released
   * (their `condition` names it) pass.
   */
  async refreshGates(): Promise<void> {
    const open = new Set((await this.store.listConditions()).map((c) => c.key));
    const next = new Map<string, string>();
    for (const p of await this.store.parkedScopes()) if (open.has(p.condition)) next.set(gateKey(p), p.condition);
    this.gates = next;
  }

  /** Claimed jobs that a gate holds back are parked at once, without running; the rest are returned. */
  async passGates(jobs: Job[], now: number): Promise<Job[]> {
    if (this.gates.size === 0) return jobs;
    const held = jobs.filter((j) => {
      const condition = this.gates.get(gateKey(j));
      return condition !== undefined && j.condition !== condition;
    });
    if (held.length === 0) return jobs;
    await this.transitions.apply(
      held.map((j) => ({
        id: j.id,
        from: ['running'] as const,
        leaseToken: j.leaseToken!,
        to: 'blocked' as const,
        patch: { condition: this.gates.get(gateKey(j))!, blockedAt: now, attempt: Math.max(0, j.attempt - 1), leaseExpiresAt: null, stateReason: 'gated' },
        now,
      })),
    );
    const parked = new Set(held.map((j) => j.id));
    return jobs.filter((j) => !parked.has(j.id));
  }

  /**
   * Puts parked jobs back in the queue (blocked -> ready), keeping their attempt count. `reason`
   * becomes their stateReason (`probe`, `released`). They keep their `condition`: it lets them
   * through the condition's gate.
   */
  async release(jobs: readonly Job[], reason: string): Promise<Job[]> {
    const now = this.clock.now();
    const results = await this.transitions.apply(
      jobs.map((j) => ({ id: j.id, from: ['blocked'] as const, to: 'ready' as const, patch: { blockedAt: null, runAt: now, stateReason: reason }, now })),
    );
    return results.flatMap((r) => (r.ok ? [r.job] : []));
  }

  /** Fails parked jobs for good (the dead-letter set), with the condition as the reason. */
  async abandon(jobs: readonly Job[], message: string): Promise<number> {
    const now = this.clock.now();
    const results = await this.transitions.apply(
      jobs.map((j) => ({
        id: j.id,
        from: ['blocked'] as const,
        to: 'failed' as const,
        patch: { error: { message, code: 'condition_abandoned', attempt: j.attempt, at: now }, stateReason: `condition:${j.condition ?? 'unknown'}`, finishedAt: now },
        now,
      })),
    );
    return results.filter((r) => r.ok).length;
  }
}
