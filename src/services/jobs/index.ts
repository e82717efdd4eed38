import type { Job, Json } from '../../domain/job.js';
import type { JobOptions } from '../../domain/job-options.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch } from '../../ports/dispatch.js';
import type { Store } from '../../ports/store.js';
import type { TemplateService } from '../template-service.js';
import { Cancels } from './cancels.js';
import { Claims } from './claims.js';
import { DeadLetters } from './dead-letters.js';
import type { DependencyPlanner } from './dependencies.js';
import { DEFAULT_JOBS_OPTIONS, type JobsOptions, type SubmitContext } from './options.js';
import { Outcomes } from './outcomes.js';
import { Parking } from './parking.js';
import { QueuePauses } from './pauses.js';
import { JobQueries } from './queries.js';
import { JobLogs } from './logs.js';
import { TenantSlots } from './slots.js';
import { Submitter } from './submitter.js';
import { SubmitPipeline } from './submit-pipeline.js';
import { Transitions } from './transitions.js';

export { DEFAULT_JOBS_OPTIONS, type JobsOptions, type SubmitContext } from './options.js';
export type { ClaimOptions } from './claims.js';
export type { IdempotentSubmit, IdempotentReply, Submitted } from './submitter.js';

/**
 * The job services of one engine, built together over its store, dispatch and clock. Each owns one
 * part of a job's life (docs/architecture.md): `submitter` (through `pipeline`), `claims`,
 * `outcomes`, `parking`, `cancels`, `deadLetters`, `queries`, `pauses`, `logs`; every change of state
 * after the insert goes through `transitions`. Interfaces (HTTP, CLI, SDK) and the maintenance
 * loops call these; they call the ports.
 */
export class Jobs {
  readonly options: JobsOptions;
  readonly transitions: Transitions;
  readonly pipeline: SubmitPipeline;
  readonly submitter: Submitter;
  readonly pauses: QueuePauses;
  readonly parking: Parking;
  readonly claims: Claims;
  readonly outcomes: Outcomes;
  readonly cancels: Cancels;
  readonly deadLetters: DeadLetters;
  readonly queries: JobQueries;
  readonly logs: JobLogs;

  constructor(
    readonly store: Store,
    readonly dispatch: Dispatch,
    readonly clock: Clock,
    options: Partial<JobsOptions> = {},
  ) {
    const o = (this.options = { ...DEFAULT_JOBS_OPTIONS, ...options });
    const slots = new TenantSlots(dispatch, o.fairness ?? null);
    this.transitions = new Transitions(store, dispatch, slots);
    this.pipeline = new SubmitPipeline(store, o);
    this.submitter = new Submitter(store, dispatch, this.pipeline, this.transitions, clock);
    this.pauses = new QueuePauses(store, clock, dispatch);
    this.parking = new Parking(store, this.transitions, clock, o.recovery.policies);
    this.claims = new Claims(dispatch, this.transitions, this.pauses, this.parking, slots, clock, o.leaseMs);
    this.outcomes = new Outcomes(store, this.transitions, this.parking, clock, { ...o, rules: o.recovery.rules });
    this.cancels = new Cancels(store, this.transitions, clock);
    this.logs = new JobLogs(o.logs ?? null, o.logCapBytes);
    this.deadLetters = new DeadLetters(store, this.transitions, clock, o.cache, this.logs);
    this.queries = new JobQueries(store, this.pauses, clock, o.cache);
    // Dependents the store released (their last dependency settled) go to the dispatch index like any new ready job.
    store.dependencies.onReleased((entries) => dispatch.enqueue(entries));
  }

  /**
   * Submits jobs from TypeScript, all or none, with their fields checked by the compiler (a typo
   * or a wrong type does not compile) and by the service at run time. `P` types the payload.
   * `submitter.submit` takes what a request body holds (unknown) for the HTTP API.
   */
  async submit<P = Json>(jobs: JobOptions<P> | readonly JobOptions<P>[], ctx: SubmitContext = { tenant: 'default' }): Promise<Job<P>[]> {
    return (await this.submitter.submit(Array.isArray(jobs) ? jobs : [jobs], ctx)) as Job<P>[];
  }

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /** Dependencies between jobs: planning submits, reading a job's dependencies. */
  get dependencies(): DependencyPlanner {
    return this.pipeline.dependencies;
  }

  /** The template service, when templates are on. */
  get templates(): TemplateService | undefined {
    return this.options.templates;
  }
}
