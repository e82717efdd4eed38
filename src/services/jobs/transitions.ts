import { toDispatchEntry, type DispatchEntry, type Job } from '../../domain/job.js';
import type { TransitionResult } from '../../domain/outcomes.js';
import { TRANSITIONS, type JobState } from '../../domain/states.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { ClaimResult, Completion, CompletionResult, JobClaim, Store, TransitionRequest } from '../../ports/store.js';
import { Lifecycle } from '../lifecycle.js';
import type { TenantSlots } from './slots.js';

/** States whose jobs the dispatch index holds: ready ones to take, scheduled and retrying ones to promote. */
const INDEXED: ReadonlySet<JobState> = new Set(['ready', 'scheduled', 'retrying']);

/**
 * The one path of every change of a job's state after its insert: no other module writes a state
 * (test/architecture.test.ts checks it). `apply` takes any guarded move: each request is checked
 * against the transition table before anything is written, and a request that keeps the state
 * (progress of a running job) is a guarded patch, not a move; then, for the moves that applied, the
 * dispatch index follows (ready: enqueued, waking a worker; scheduled/retrying: promoted when due;
 * out of the index: removed), running slots of capped tenants are freed, and in-process listeners
 * hear it. `claim` and `complete` are the two batched hot-path moves (ready -> running, running ->
 * succeeded): one statement per batch, whose SQL state guards the stores derive from the same
 * table (adapters/sql/state-lists.ts).
 */
export class Transitions {
  /** In-process observers of state changes (tests, tools); free when nobody listens. */
  readonly lifecycle = new Lifecycle();

  constructor(
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly slots: TenantSlots,
  ) {}

  /** Applies guarded moves in one store transaction; one result per request, in order. Illegal moves throw before anything is written. */
  async apply(requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
    for (const r of requests) {
      for (const from of r.from) {
        if (from !== r.to && !TRANSITIONS[from][r.to]) throw new Error(`illegal transition ${from} -> ${r.to} for job ${r.id}`);
      }
    }
    if (requests.length === 0) return [];
    const results = await this.store.transition(requests);
    const moved = results.flatMap((r) => (r.ok && r.from !== r.job.state ? [r] : []));
    if (moved.length === 0) return results;
    await this.slots.stopped(moved.flatMap((r) => (r.from === 'running' ? [r.job] : [])));
    await this.follow(moved);
    if (this.lifecycle.active) results.forEach((r, i) => r.ok && r.from !== r.job.state && this.emit(r.job, r.from, requests[i]!.now));
    return results;
  }

  /**
   * ready -> running under fresh lease tokens, one store write for the batch; ready jobs past their
   * expiresAt move to expired instead.
   */
  async claim(claims: readonly JobClaim[], workerId: string, leaseExpiresAt: number, now: number): Promise<ClaimResult> {
    const result = await this.store.claimJobs(claims, workerId, leaseExpiresAt, now);
    if (this.lifecycle.hears('running') || this.lifecycle.hears('expired')) {
      for (const job of result.expired) this.emit(job, 'ready', now);
      for (const job of result.claimed) this.emit(job, 'ready', now);
    }
    return result;
  }

  /**
   * running -> succeeded, one store write for the batch, each guarded by its lease token; the
   * tenants' running slots are freed. Jobs are read back only for in-process listeners of
   * `succeeded` (a listener of other states only, such as the dead-letter log, costs nothing here).
   */
  async complete(items: readonly Completion[], now: number): Promise<CompletionResult[]> {
    const results = await this.store.completeJobs(items, now);
    if (this.slots.active) await this.slots.completed(items.flatMap((c, i) => (results[i]!.ok ? [c.id] : [])));
    if (this.lifecycle.hears('succeeded')) {
      for (let i = 0; i < items.length; i++) {
        const job = results[i]!.ok ? await this.store.getJob(items[i]!.id) : undefined;
        if (job) this.emit(job, 'running', now);
      }
    }
    return results;
  }

  /** Tells in-process listeners of a new job (the submitter's and the firer's inserts). */
  emit(job: Job, from: JobState | null, at: number): void {
    // Nothing is built for a state nobody listens to (the server's dead-letter log hears `failed` only).
    if (!this.lifecycle.hears(job.state)) return;
    const cause = from === null ? 'submitted' : (TRANSITIONS[from][job.state] ?? 'submitted');
    this.lifecycle.emit({ job, from, to: job.state, cause, at });
  }

  /** The dispatch index after moves: each job where its new state belongs. */
  private async follow(moved: readonly Extract<TransitionResult, { ok: true }>[]): Promise<void> {
    const ready: DispatchEntry[] = [];
    const delayed: DispatchEntry[] = [];
    const gone: string[] = [];
    for (const { job, from } of moved) {
      if (job.state === 'ready') ready.push(toDispatchEntry(job));
      else if (INDEXED.has(job.state)) delayed.push(toDispatchEntry(job));
      else if (INDEXED.has(from)) gone.push(job.id);
    }
    if (gone.length > 0) await this.dispatch.remove(gone);
    if (delayed.length > 0) await this.dispatch.schedule(delayed);
    if (ready.length > 0) await this.dispatch.enqueue(ready);
  }
}
