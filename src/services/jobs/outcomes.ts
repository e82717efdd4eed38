import { backoffDelay } from '../../domain/backoff.js';
import { PayloadTooLargeError, ValidationError } from '../../domain/errors.js';
import type { Job, JobError, Json } from '../../domain/job.js';
import type { TransitionResult } from '../../domain/outcomes.js';
import { classify, type CompiledRule, type ReportedFailure } from '../../domain/recovery/classify.js';
import type { JobState } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { Completion, CompletionResult, LeaseExtension, Store } from '../../ports/store.js';
import { Batcher } from '../batcher.js';
import { clip } from './messages.js';
import type { JobsOptions } from './options.js';
import { recordLeaseLost } from '../../tracing/spans.js';
import type { Parking } from './parking.js';
import type { Transitions } from './transitions.js';

/**
 * What workers report about the jobs they hold, each guarded by the lease token: success
 * (batched: concurrent completions share one store write), failure (retry, park, or fail for
 * good), progress, heartbeats, a job given back, and jobs returned because their worker is gone.
 */
export class Outcomes {
  private readonly completer: Batcher<Completion, CompletionResult>;

  constructor(
    private readonly store: Store,
    private readonly transitions: Transitions,
    private readonly parking: Parking,
    private readonly clock: Clock,
    private readonly options: Pick<JobsOptions, 'leaseMs' | 'limits' | 'random'> & { rules: readonly CompiledRule[] },
  ) {
    this.completer = new Batcher<Completion, CompletionResult>((items) => this.completeBatch(items));
  }

  /** Marks a running job succeeded. Writes are batched: concurrent completions share a transaction. */
  async complete(id: string, leaseToken: string, result?: Json): Promise<CompletionResult> {
    if (result !== undefined) this.checkSize('/result', result);
    return this.completer.add({ id, leaseToken, result });
  }

  /**
   * Records a failed attempt. Classified first (domain/recovery/classify.ts): a permanent error
   * fails the job for good; a transient one parks it under its condition; otherwise it retries after
   * backoff while attempts are left, and fails for good when none are.
   */
  async fail(id: string, leaseToken: string, report: ReportedFailure): Promise<TransitionResult> {
    const job = await this.store.getJob(id);
    if (!job) return { ok: false, reason: 'not_found' };
    if (job.state !== 'running') return { ok: false, reason: 'wrong_state', state: job.state };
    if (job.leaseToken !== leaseToken) return { ok: false, reason: 'lease_mismatch', state: job.state };
    const now = this.clock.now();
    const error: JobError = { message: clip(report.message), attempt: job.attempt, at: now, ...(report.code ? { code: report.code } : {}) };
    const outcome = classify(report, job, this.options.rules);
    if (outcome.kind === 'transient') return this.parking.park(job, leaseToken, outcome.condition!, error, now);
    const retry = outcome.kind === 'retryable' && job.attempt < job.maxAttempts;
    const to: JobState = retry ? 'retrying' : 'failed';
    const patch = retry
      ? { error, runAt: now + backoffDelay(job.backoff, job.attempt, this.options.random), leaseExpiresAt: null, stateReason: report.code ?? 'error' }
      : { error, leaseExpiresAt: null, finishedAt: now, stateReason: outcome.kind === 'permanent' ? 'permanent_error' : 'attempts_exhausted' };
    const [res] = await this.transitions.apply([{ id, from: ['running'], leaseToken, to, patch, now }]);
    return res!;
  }

  /**
   * Reports progress of a running job; the lease token proves the caller still holds it. A
   * multi-step job also sends `outputs`, its finished steps' outputs, kept as the job's result so a
   * retry resumes after them (docs/jobs.md#multi-step-jobs); the reply's job carries them.
   */
  async progress(id: string, leaseToken: string, percent: number, message?: string, outputs?: Json[]): Promise<TransitionResult> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new ValidationError([{ path: '/percent', message: `must be a number from 0 to 100 (got ${percent})` }]);
    }
    if (outputs !== undefined) this.checkSize('/outputs', outputs);
    const progress = message === undefined ? { percent } : { percent, message: clip(message) };
    const patch = outputs === undefined ? { progress } : { progress, result: outputs };
    const [res] = await this.transitions.apply([{ id, from: ['running'], leaseToken, to: 'running', patch, now: this.clock.now() }]);
    return res!;
  }

  /**
   * Extends the leases a worker holds. Returns the jobs it no longer holds (it must stop them), and
   * among them those that were cancelled.
   */
  async heartbeat(leases: readonly LeaseExtension[]): Promise<{ lost: string[]; cancelled: string[] }> {
    if (leases.length === 0) return { lost: [], cancelled: [] };
    const now = this.clock.now();
    const lost = await this.store.extendLeases(leases, now + this.options.leaseMs, now);
    const cancelled: string[] = [];
    for (const id of lost) if ((await this.store.getJob(id))?.state === 'cancelled') cancelled.push(id);
    return { lost, cancelled };
  }

  /** Gives a running job back without counting the attempt (graceful shutdown of its worker). */
  async release(id: string, leaseToken: string): Promise<TransitionResult> {
    const job = await this.store.getJob(id);
    if (!job) return { ok: false, reason: 'not_found' };
    const patch = { attempt: Math.max(0, job.attempt - 1), leaseExpiresAt: null, stateReason: 'released_by_worker' };
    const [res] = await this.transitions.apply([{ id, from: ['running'], leaseToken, to: 'ready', patch, now: this.clock.now() }]);
    return res!;
  }

  /**
   * Gives running jobs back to the queue because their worker is gone (lease ran out, or the worker
   * was marked lost): the attempt counts, and on the last attempt the job fails.
   */
  async returnToQueue(jobs: readonly Job[], code: string, message: string): Promise<number> {
    if (jobs.length === 0) return 0;
    const now = this.clock.now();
    const results = await this.transitions.apply(
      jobs.map((j) => {
        const error = { message, code, attempt: j.attempt, at: now };
        const last = j.attempt >= j.maxAttempts;
        const patch = last ? { error, stateReason: code, leaseExpiresAt: null, finishedAt: now } : { error, stateReason: code, leaseExpiresAt: null };
        return { id: j.id, from: ['running'] as const, leaseToken: j.leaseToken!, to: last ? ('failed' as const) : ('ready' as const), patch, now };
      }),
    );
    results.forEach((r, i) => r.ok && recordLeaseLost(jobs[i]!, code, r.job.state === 'failed' ? 'failed' : 'ready'));
    return results.filter((r) => r.ok).length;
  }

  /** Waits for batched writes still in flight (shutdown). */
  drain(): Promise<void> {
    return this.completer.drain();
  }

  private checkSize(path: string, value: Json): void {
    const size = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (size > this.options.limits.maxPayloadBytes) throw new PayloadTooLargeError(path, size, this.options.limits.maxPayloadBytes);
  }

  private completeBatch(items: Completion[]): Promise<CompletionResult[]> {
    return this.transitions.complete(items, this.clock.now());
  }
}
