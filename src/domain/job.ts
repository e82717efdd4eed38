import type { Backoff } from './backoff.js';
import type { JobState } from './states.js';
import type { DependencyFailurePolicy } from './dag.js';
import type { TraceCarrier } from './trace-context.js';

/** Any JSON value: payloads, results and progress details are stored as JSON text. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface JobError {
  message: string;
  /** A short machine-readable code such as `timeout`, `lease_expired`, `ECONNREFUSED`. */
  code?: string;
  /** The attempt that produced the error. */
  attempt: number;
  /** Epoch ms. */
  at: number;
}

export interface JobProgress {
  percent: number;
  message?: string;
}

/**
 * A job as the store holds it. Times are epoch milliseconds. `P` and `R` type its payload and
 * result in TypeScript code (`Job<{ to: string }, { sent: boolean }>`); nothing checks them at run time.
 */
export interface Job<P = Json, R = Json> {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payload: P;
  priority: number;
  labels: Record<string, string>;
  state: JobState;
  /** Why the job is in its state, when that is not obvious (`cancelled_by_user`, `lease_expired`...). */
  stateReason: string | null;
  /** Due time: the job may not start before it. For ready jobs it orders the queue after priority. */
  runAt: number;
  expiresAt: number | null;
  timeoutMs: number | null;
  maxAttempts: number;
  attempt: number;
  backoff: Backoff;
  linkId: string;
  resubmittedFrom: string | null;
  /** The template the job was created from and its version (docs/templates.md), else null. */
  templateId: string | null;
  templateVersion: number | null;
  /**
   * Where the job's end is posted (docs/webhooks.md#job-callbacks); absent when none, like
   * dependsOn. Also absent from PostgreSQL rows returned by claims and transitions, which do not
   * select the column (reads and submits carry it).
   */
  callbackUrl?: string | null;
  /**
   * The W3C trace context of the submit (docs/tracing.md): its producer span's, or the caller's
   * when tracing was off. Absent when the submit had none.
   */
  traceContext?: TraceCarrier;
  /**
   * The jobs this one waits for and what it does if one fails (docs/dependencies.md). Set on jobs
   * just submitted and on single reads through the API; absent for jobs without dependencies.
   */
  dependsOn?: string[];
  onDependencyFailure?: DependencyFailurePolicy;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  workerId: string | null;
  progress: JobProgress | null;
  /** The recovery condition a blocked job is parked under (`service:payments-api`), else null. */
  condition: string | null;
  /** When the job was parked (blocked), else null. */
  blockedAt: number | null;
  result: R | undefined;
  errors: JobError[];
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** What the dispatch index needs to order a job, without its payload. */
export interface DispatchEntry {
  id: string;
  queue: string;
  tenant: string;
  priority: number;
  /** For ready jobs: the ordering key after priority. For delayed ones: when they become ready. */
  dueAt: number;
  /** The job type, for claim filters. Absent: matches no type filter. */
  type?: string;
  /** The job's labels, for claim filters; absent when it has none. */
  labels?: Record<string, string>;
}

/** A store row's dispatch entry (labels as JSON text on SQLite, parsed jsonb on PostgreSQL). */
export function dispatchEntryOf(r: { id: string; queue: string; tenant: string; priority: number; run_at: number; type: string; labels: string | Record<string, string> }): DispatchEntry {
  const labels = typeof r.labels === 'string' ? (JSON.parse(r.labels) as Record<string, string>) : r.labels;
  return toDispatchEntry({ id: r.id, queue: r.queue, tenant: r.tenant, priority: r.priority, runAt: Number(r.run_at), type: r.type, labels });
}

export function toDispatchEntry(job: Pick<Job, 'id' | 'queue' | 'tenant' | 'priority' | 'runAt' | 'type' | 'labels'>): DispatchEntry {
  const e: DispatchEntry = { id: job.id, queue: job.queue, tenant: job.tenant, priority: job.priority, dueAt: job.runAt, type: job.type };
  if (job.labels && Object.keys(job.labels).length > 0) e.labels = job.labels;
  return e;
}
