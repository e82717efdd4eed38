import type { Backoff } from './backoff.js';
import type { Json } from './job.js';
import type { SubmitInput } from './template.js';

/**
 * A job to submit, as TypeScript code writes it: what `docket.jobs.submit` and
 * `DocketClient.submit` take. A misspelt field or a value of the wrong type is a compile error;
 * the server still checks every input at run time (ranges, formats) and names the bad fields.
 * `P` is the payload's type: `submit<{ to: string }>({ type: 'email', payload: { to } })`.
 */
export type JobOptions<P = Json> = ({ type: string } | { templateId: string } | { steps: Step[] }) & JobFields<P>;

/** One step of a multi-step job. */
export interface Step {
  /** The step type: selects the handler that runs the step. */
  type: string;
  /** The step's input. @defaultValue {} */
  payload?: unknown;
}

interface JobFields<P> {
  /** The job type: selects the handler that runs it. Required unless `templateId` or `steps` is given. */
  type?: string;
  /** Submit from this template: its defaults, then the fields given here (docs/templates.md). */
  templateId?: string;
  /** With `templateId`: this version. @defaultValue the latest */
  templateVersion?: number;
  /** Queue name. @defaultValue "default" */
  queue?: string;
  /** Any JSON value, handed to the handler as `job.payload`. @defaultValue {} */
  payload?: P;
  /** 1 (highest) to 10 (lowest). Ready jobs run strictly by priority, then due time. @defaultValue 5 */
  priority?: number;
  /** Up to 32 string labels, for filtering lists and worker claim filters. */
  labels?: Record<string, string>;
  /** Do not start before this time (ISO 8601 with a zone). Not with `delayMs`. */
  runAt?: string;
  /** Start no sooner than this many ms from now. Not with `runAt`. @defaultValue 0 */
  delayMs?: number;
  /** Expire the job if it has not started by then (ISO 8601). @defaultValue never */
  expiresAt?: string;
  /** Per-attempt time limit in ms: the handler's signal aborts and the attempt fails. @defaultValue none */
  timeoutMs?: number;
  /** Attempts before the job fails for good (a dead letter). @defaultValue 3 */
  maxAttempts?: number;
  /** Delay between attempts. @defaultValue exponential from 1 s, up to 1 h, 20 % jitter */
  backoff?: Backoff;
  /** Correlation id shared by everything born of one request. @defaultValue the job's id */
  linkId?: string;
  /** While a job of this type holds this key, a submit returns it instead of creating one (docs/jobs.md#deduplication). */
  dedupKey?: string;
  /** With `dedupKey`: how long the key is held, in seconds. @defaultValue the rule's, else 86400 */
  dedupTtlSeconds?: number;
  /** An http(s) URL that gets the job's end as a signed webhook (docs/webhooks.md#job-callbacks). */
  callbackUrl?: string;
  /** A multi-step job: steps run in order, a retry resumes at the failed one (docs/jobs.md#multi-step-jobs). Not with `payload`. */
  steps?: Step[];
  /** A name for this job, local to one submit, that other jobs of it name in `dependsOn`. */
  ref?: string;
  /** Jobs to wait for: refs of this submit's jobs, or ids of existing jobs (docs/dependencies.md). */
  dependsOn?: string[];
  /** With `dependsOn`: what a failed dependency does to this job. @defaultValue "cancel" */
  onDependencyFailure?: 'cancel' | 'continue';
}

// Typecheck fails when JobOptions and the schema the server validates with name different fields.
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : { onlyInOptions: Exclude<keyof A, keyof B>; onlyInSchema: Exclude<keyof B, keyof A> };
type Assert<T extends true> = T;
export type JobOptionsMatchSchema = Assert<SameKeys<JobFields<Json>, Required<SubmitInput>>>;
