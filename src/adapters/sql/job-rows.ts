import type { Job } from '../../domain/job.js';
import type { JobState } from '../../domain/states.js';
import { carrierFromText } from '../../domain/trace-context.js';

/**
 * A row of the jobs table as either engine returns it. `labels` and `errors` are the only columns
 * whose shape differs: SQLite stores them as JSON text, PostgreSQL as jsonb, which node-postgres
 * hands over parsed. The other JSON columns (payload, backoff, result, progress) are text on both
 * (PostgreSQL's `json` type is read as text: see the postgres adapter's PG_TYPES).
 */
export interface JobRow {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payload: string;
  priority: number;
  labels: string | Record<string, string>;
  state: JobState;
  state_reason: string | null;
  run_at: number;
  expires_at: number | null;
  timeout_ms: number | null;
  max_attempts: number;
  attempt: number;
  backoff: string;
  link_id: string;
  resubmitted_from: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  worker_id: string | null;
  progress: string | null;
  condition: string | null;
  blocked_at: number | null;
  result: string | null;
  errors: string | Job['errors'];
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  template_id: string | null;
  template_version: number | null;
  /** Read by SQLite's `SELECT *` and PostgreSQL's reads (get, list); absent from claim and transition rows there. */
  callback_url?: string | null;
  /** The submit's trace context, JSON text (migration 0013); returned by claims and reads on both engines. */
  trace_context?: string | null;
}

/** A claim returns the job's own columns; the lease columns are the ones the claim just wrote. */
export type ClaimedRow = Pick<
  JobRow,
  | 'id' | 'tenant' | 'queue' | 'type' | 'payload' | 'priority' | 'labels' | 'run_at' | 'expires_at' | 'timeout_ms'
  | 'max_attempts' | 'attempt' | 'backoff' | 'link_id' | 'resubmitted_from' | 'created_at' | 'condition'
  | 'template_id' | 'template_version' | 'trace_context'
>;

/**
 * What a claim returns, in both engines: the job minus its history (errors, result, progress),
 * which a worker does not need, nor the columns the claim itself just set. `RETURNING *` made each
 * SQLite claim ~40% slower in measurements (27 columns to JS objects).
 */
export const CLAIMED_COLUMNS = `id, tenant, queue, type, payload, priority, labels, run_at, expires_at, timeout_ms,
  max_attempts, attempt, backoff, link_id, resubmitted_from, created_at, condition, template_id, template_version, trace_context`;

// Most jobs carry no labels and no errors: the literal is compared before anything is parsed.
function labelsOf(v: JobRow['labels']): Record<string, string> {
  return typeof v !== 'string' ? v : v === '{}' ? {} : (JSON.parse(v) as Record<string, string>);
}

function errorsOf(v: JobRow['errors']): Job['errors'] {
  return typeof v !== 'string' ? v : v === '[]' ? [] : (JSON.parse(v) as Job['errors']);
}

export function toClaimedJob(r: ClaimedRow, lease: { leaseToken: string; leaseExpiresAt: number; workerId: string; now: number }): Job {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload),
    priority: r.priority,
    labels: labelsOf(r.labels),
    state: 'running',
    stateReason: null,
    runAt: r.run_at,
    expiresAt: r.expires_at,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    attempt: r.attempt,
    backoff: JSON.parse(r.backoff),
    linkId: r.link_id,
    resubmittedFrom: r.resubmitted_from,
    leaseToken: lease.leaseToken,
    leaseExpiresAt: lease.leaseExpiresAt,
    workerId: lease.workerId,
    progress: null,
    // The condition that released it, if any: its gate lets the job through (services/jobs/parking.ts passGates).
    condition: r.condition,
    blockedAt: null,
    result: undefined,
    errors: [],
    createdAt: r.created_at,
    updatedAt: lease.now,
    startedAt: lease.now,
    finishedAt: null,
    templateId: r.template_id,
    templateVersion: r.template_version,
    ...traceOf(r.trace_context),
  };
}

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload),
    priority: r.priority,
    labels: labelsOf(r.labels),
    state: r.state,
    stateReason: r.state_reason,
    runAt: r.run_at,
    expiresAt: r.expires_at,
    timeoutMs: r.timeout_ms,
    maxAttempts: r.max_attempts,
    attempt: r.attempt,
    backoff: JSON.parse(r.backoff),
    linkId: r.link_id,
    resubmittedFrom: r.resubmitted_from,
    leaseToken: r.lease_token,
    leaseExpiresAt: r.lease_expires_at,
    workerId: r.worker_id,
    progress: r.progress === null ? null : JSON.parse(r.progress),
    condition: r.condition,
    blockedAt: r.blocked_at,
    result: r.result === null ? undefined : JSON.parse(r.result),
    errors: errorsOf(r.errors),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    templateId: r.template_id,
    templateVersion: r.template_version,
    ...(r.callback_url ? { callbackUrl: r.callback_url } : {}),
    ...traceOf(r.trace_context),
  };
}

// Most jobs carry none: nothing is parsed or spread for them.
function traceOf(text: string | null | undefined): { traceContext?: Job['traceContext'] } {
  if (!text) return {};
  const traceContext = carrierFromText(text);
  return traceContext ? { traceContext } : {};
}
