import { toDispatchEntry, type DispatchEntry, type Job } from '../../domain/job.js';
import type { TransitionResult } from '../../domain/outcomes.js';
import { TRANSITIONS, type JobState } from '../../domain/states.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { Store, TransitionRequest } from '../../ports/store.js';
import { Lifecycle } from '../lifecycle.js';
import type { TenantSlots } from './slots.js';

/** States whose jobs the dispatch index holds: ready ones to take, scheduled and retrying ones to promote. */
const INDEXED: ReadonlySet<JobState> = new Set(['ready', 'scheduled', 'retrying']);

/**
 * The one path of every change of a job's state after its insert (claims and completions, the two
 * batched hot-path writes, are checked by the same table in the store's SQL; see
 * src/adapters/*: their state lists come from domain/states.ts). Each request is checked against
 * the transition table before anything is written; a request that keeps the state (progress of a
 * running job) is a guarded patch, not a move. Then, for the moves that applied: the dispatch index
 * follows (ready: enqueued, waking a worker; scheduled/retrying: promoted when due; out of the
 * index: removed), running slots of capped tenants are freed, and in-process listeners hear it.
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

  /** Tells in-process listeners of a change written elsewhere (inserts, claims, completions). */
  emit(job: Job, from: JobState | null, at: number): void {
    if (!this.lifecycle.active) return;
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
