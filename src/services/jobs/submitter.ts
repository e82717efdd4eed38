import { IdempotencyConflictError } from '../../domain/errors.js';
import { toDispatchEntry, type Job } from '../../domain/job.js';
import type { TransitionFailure } from '../../domain/outcomes.js';
import { isTerminal } from '../../domain/states.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { NewLogEvent } from '../../ports/event-log.js';
import type { IdempotencyRecord, Store } from '../../ports/store.js';
import { insertDeduplicated, type Submitted } from './dedup.js';
import { newJobRow, newJobView, resubmitSpecOf, type PlannedRow } from './new-job.js';
import type { SubmitContext } from './options.js';
import type { SubmitPipeline, SubmitPlan } from './submit-pipeline.js';
import type { TraceCarrier } from '../../domain/trace-context.js';
import type { Transitions } from './transitions.js';
import { sending } from './trace.js';

export type { Submitted };

export interface IdempotentSubmit {
  key: string;
  /** SHA-256 of the request body. */
  requestHash: string;
  /**
   * The response to store and replay, built from the jobs: new ones, or for a job whose dedup key
   * was held, the job that holds it (`deduplicated[i]` true).
   */
  render(jobs: Job[], deduplicated: readonly boolean[]): { status: number; body: unknown };
}

export interface IdempotentReply {
  status: number;
  /** JSON text of the response body. */
  response: string;
  /** true when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/**
 * Submits: the pipeline's plan (submit-pipeline.ts) inserted all or none, then published: the new
 * jobs into the dispatch index (waking idle workers) and to in-process listeners.
 */
export class Submitter {
  constructor(
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly pipeline: SubmitPipeline,
    private readonly transitions: Transitions,
    private readonly clock: Clock,
  ) {}

  /**
   * Validates and stores jobs, all or none: a bad item fails the whole call with every issue
   * named by its path (`/3/priority`). Ready jobs wake idle workers at once.
   */
  async submit(inputs: readonly unknown[], ctx: SubmitContext): Promise<Job[]> {
    return (await this.submitJobs(inputs, ctx)).map((s) => s.job);
  }

  /**
   * submit, saying per job whether it was created or answered by the job that holds its dedup key
   * (docs/jobs.md#deduplication; nothing is created for those, and a `deduplicated` event is logged).
   */
  async submitJobs(inputs: readonly unknown[], ctx: SubmitContext): Promise<Submitted[]> {
    const now = this.clock.now();
    const { rows, claims } = await this.pipeline.plan(inputs, ctx, now);
    return sending(rows, ctx.trace, async () => {
      if (claims) {
        const out = await insertDeduplicated(this.store, rows, claims, (r) => newJobView(r.row, r.payload), now);
        await this.afterDedup(out.created, out.events, now);
        return out.submitted;
      }
      await this.store.insertJobs(rows.map((r) => r.row));
      return (await this.publish(rows, now)).map((job) => ({ job, deduplicated: false }));
    });
  }

  /**
   * Submit with an idempotency key: the first call stores its response with the jobs, in one
   * transaction; a retry with the same key and body gets that response back and creates nothing;
   * the same key with another body is refused (IdempotencyConflictError).
   */
  async submitOnce(inputs: readonly unknown[], ctx: SubmitContext, once: IdempotentSubmit): Promise<IdempotentReply> {
    const earlier = await this.store.findIdempotency(ctx.tenant, once.key);
    if (earlier) return replay(earlier, once);
    const now = this.clock.now();
    const { rows, claims } = await this.pipeline.plan(inputs, ctx, now);
    return sending(rows, ctx.trace, () => this.insertOnce(rows, claims, ctx, once, now));
  }

  private async insertOnce(rows: PlannedRow[], claims: SubmitPlan['claims'], ctx: SubmitContext, once: IdempotentSubmit, now: number): Promise<IdempotentReply> {
    if (claims) {
      // The record is taken first (placeholder answer) and given its answer once the keys are decided, in one transaction.
      const record = { tenant: ctx.tenant, key: once.key, requestHash: once.requestHash, status: 0, response: '', createdAt: now };
      let answer = { status: 0, response: '' };
      const render = (submitted: Submitted[]) => {
        const { status, body } = once.render(submitted.map((s) => s.job), submitted.map((s) => s.deduplicated));
        return (answer = { status, response: JSON.stringify(body) });
      };
      const out = await insertDeduplicated(this.store, rows, claims, (r) => newJobView(r.row, r.payload), now, { record, render });
      if (out.earlier) return replay(out.earlier, once);
      await this.afterDedup(out.created, out.events, now);
      return { ...answer, replayed: false };
    }
    const jobs = rows.map((r) => newJobView(r.row, r.payload));
    const { status, body } = once.render(jobs, jobs.map(() => false));
    const record = { tenant: ctx.tenant, key: once.key, requestHash: once.requestHash, status, response: JSON.stringify(body), createdAt: now };
    const taken = await this.store.insertJobs(rows.map((r) => r.row), record);
    if (taken) return replay(taken, once); // a concurrent request with the same key won
    await this.publish(rows, now);
    return { status, response: record.response, replayed: false };
  }

  /**
   * Submits a finished job again as a new job: same spec, same linkId, `resubmittedFrom` naming the
   * old one (new-job.ts resubmitSpecOf says what carries over).
   */
  async resubmit(id: string, trace?: TraceCarrier | null): Promise<Job | TransitionFailure> {
    const old = await this.store.getJob(id);
    if (!old) return { ok: false, reason: 'not_found' };
    if (!isTerminal(old.state)) return { ok: false, reason: 'wrong_state', state: old.state };
    const now = this.clock.now();
    const planned = newJobRow(resubmitSpecOf(old, now), { tenant: old.tenant, resubmittedFrom: old.id, templateId: old.templateId ?? null, templateVersion: old.templateVersion ?? null }, now);
    return sending([planned], trace, async () => {
      await this.store.insertJobs([planned.row]);
      const [job] = await this.publish([planned], now);
      return job!;
    });
  }

  /**
   * After the insert (by this submitter or the schedule firer): dependents the store settled at once
   * and the new ready and delayed jobs into the dispatch index, then to in-process listeners.
   */
  async publish(rows: readonly PlannedRow[], now: number): Promise<Job[]> {
    const jobs = rows.map((r) => newJobView(r.row, r.payload));
    const released = await this.pipeline.dependencies.settledAtInsert(jobs);
    if (released.length > 0) await this.dispatch.enqueue(released);
    const ready = jobs.filter((j) => j.state === 'ready' && !j.dependsOn).map(toDispatchEntry);
    const delayed = jobs.filter((j) => j.state === 'scheduled').map(toDispatchEntry);
    if (delayed.length > 0) await this.dispatch.schedule(delayed);
    if (ready.length > 0) await this.dispatch.enqueue(ready);
    if (this.transitions.lifecycle.active) for (const job of jobs) this.transitions.emit(job, null, now);
    return jobs;
  }

  /** The new jobs of a deduplicating submit go out as usual; the duplicates answered are logged. */
  private async afterDedup(created: readonly PlannedRow[], events: readonly NewLogEvent[], now: number): Promise<void> {
    await this.publish(created, now);
    if (events.length > 0) await this.store.events.append(events);
  }
}

function replay(record: IdempotencyRecord, once: IdempotentSubmit): IdempotentReply {
  if (record.requestHash !== once.requestHash) throw new IdempotencyConflictError(once.key);
  return { status: record.status, response: record.response, replayed: true };
}
