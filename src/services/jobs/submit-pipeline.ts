import type { DedupClaim } from '../../domain/dedup.js';
import { ValidationError } from '../../domain/errors.js';
import { toJobSpec, type JobSpec } from '../../domain/job-input.js';
import { routeOf } from '../../domain/routing.js';
import type { Store } from '../../ports/store.js';
import { claimsOf } from './dedup.js';
import { DependencyPlanner } from './dependencies.js';
import { newJobRow, type PlannedRow } from './new-job.js';
import type { JobsOptions, SubmitContext } from './options.js';

/** What a submit will write: the rows, and each one's dedup claim (null for all when none claims a key). */
export interface SubmitPlan {
  rows: PlannedRow[];
  claims: (DedupClaim | null)[] | null;
}

export interface PlanOptions {
  /** Prefix of every issue's path (a schedule's job: `/job`). @defaultValue '' */
  basePath?: string;
  /** Labels added to every job (a cron fire's schedule and fire time). */
  labels?: Readonly<Record<string, string>>;
}

/**
 * The one way inputs become new jobs, whoever submits them (the API, the SDK, event ingestion, a
 * cron fire), stage by stage: templates expanded, each input validated (every issue of every job
 * named by its path), routing rules applied to jobs that name no queue, rows built
 * (new-job.ts), dependencies attached, dedup keys claimed. Nothing is written here: the submitter
 * or the schedule firer inserts the plan in its own transaction.
 */
export class SubmitPipeline {
  readonly dependencies: DependencyPlanner;

  constructor(
    store: Store,
    private readonly options: Pick<JobsOptions, 'limits' | 'routing' | 'templates' | 'dedup'>,
  ) {
    this.dependencies = new DependencyPlanner(store);
  }

  async plan(inputs: readonly unknown[], ctx: SubmitContext, now: number, at: PlanOptions = {}): Promise<SubmitPlan> {
    const templates = this.options.templates;
    const expanded = templates && inputs.some(isTemplateReference) ? await templates.expand(inputs, ctx.tenant, now) : null;
    const jobs = expanded?.inputs ?? inputs;
    const specs = this.validate(jobs, now, at);
    const rows = specs.map((spec, i) =>
      newJobRow(spec, { tenant: ctx.tenant, resubmittedFrom: ctx.resubmittedFrom ?? null, templateId: expanded?.origins[i]?.id ?? null, templateVersion: expanded?.origins[i]?.version ?? null }, now),
    );
    await this.dependencies.attach(jobs, rows, ctx.tenant);
    // A job's own dedupKey is read from what was submitted (a template holds none).
    return { rows, claims: claimsOf(inputs, rows, this.options.dedup ?? [], now) };
  }

  /** Every input to a spec, routed; all issues of all inputs in one ValidationError. */
  private validate(inputs: readonly unknown[], now: number, at: PlanOptions): JobSpec[] {
    const many = inputs.length > 1;
    const specs: JobSpec[] = [];
    const issues: ValidationError['issues'] = [];
    inputs.forEach((input, i) => {
      try {
        const spec = toJobSpec(input, now, this.options.limits, `${at.basePath ?? ''}${many ? `/${i}` : ''}`);
        const routed = this.options.routing && (input as { queue?: unknown }).queue === undefined ? routeOf(this.options.routing, spec.type) : undefined;
        let routedSpec = routed ? { ...spec, queue: routed } : spec;
        if (at.labels) routedSpec = { ...routedSpec, labels: { ...spec.labels, ...at.labels } };
        specs.push(routedSpec);
      } catch (err) {
        if (err instanceof ValidationError) issues.push(...err.issues);
        else throw err;
      }
    });
    if (issues.length > 0) throw new ValidationError(issues);
    return specs;
  }
}

function isTemplateReference(i: unknown): boolean {
  return typeof i === 'object' && i !== null && ('templateId' in i || 'templateVersion' in i);
}
