import type { Job } from '../../domain/job.js';
import type { JobState } from '../../domain/states.js';
import type { JobPatch, NewJob } from '../../ports/store.js';

/** A row of the jobs table as better-sqlite3 returns it. */
export interface JobRow {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payload: string;
  priority: number;
  labels: string;
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
  errors: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  template_id: string | null;
  template_version: number | null;
  /** Migration 0010. */
  callback_url: string | null;
}

/** A claim returns the job's own columns; the lease columns are the ones the claim just wrote. */
export type ClaimedRow = Pick<
  JobRow,
  | 'id' | 'tenant' | 'queue' | 'type' | 'payload' | 'priority' | 'labels' | 'run_at' | 'expires_at' | 'timeout_ms'
  | 'max_attempts' | 'attempt' | 'backoff' | 'link_id' | 'resubmitted_from' | 'created_at' | 'condition'
  | 'template_id' | 'template_version'
>;

export function toClaimedJob(r: ClaimedRow, lease: { leaseToken: string; leaseExpiresAt: number; workerId: string; now: number }): Job {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload),
    priority: r.priority,
    labels: r.labels === '{}' ? {} : JSON.parse(r.labels),
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
    labels: r.labels === '{}' ? {} : JSON.parse(r.labels),
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
    errors: r.errors === '[]' ? [] : JSON.parse(r.errors),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    templateId: r.template_id,
    templateVersion: r.template_version,
    ...(r.callback_url ? { callbackUrl: r.callback_url } : {}),
  };
}

/** Column and bound value for each patch field. JSON fields are serialized here. */
export const PATCH_COLUMNS: { [K in keyof JobPatch]-?: { sql: string; value: (v: NonNullable<JobPatch[K]> | null) => unknown } } = {
  stateReason: { sql: 'state_reason = @stateReason', value: (v) => v },
  runAt: { sql: 'run_at = @runAt', value: (v) => v },
  attempt: { sql: 'attempt = @attempt', value: (v) => v },
  leaseToken: { sql: 'lease_token = @leaseTokenNew', value: (v) => v },
  leaseExpiresAt: { sql: 'lease_expires_at = @leaseExpiresAt', value: (v) => v },
  workerId: { sql: 'worker_id = @workerId', value: (v) => v },
  result: { sql: 'result = @result', value: (v) => JSON.stringify(v) },
  error: { sql: "errors = json_insert(errors, '$[#]', json(@error))", value: (v) => JSON.stringify(v) },
  progress: { sql: 'progress = @progress', value: (v) => (v === null ? null : JSON.stringify(v)) },
  condition: { sql: 'condition = @condition', value: (v) => v },
  blockedAt: { sql: 'blocked_at = @blockedAt', value: (v) => v },
  startedAt: { sql: 'started_at = @startedAt', value: (v) => v },
  finishedAt: { sql: 'finished_at = @finishedAt', value: (v) => v },
};

/** The named parameters of Q.INSERT_JOB for `j`. */
export function jobParams(j: NewJob): Record<string, unknown> {
  return { ...j, labels: JSON.stringify(j.labels), backoff: JSON.stringify(j.backoff), templateId: j.templateId ?? null, templateVersion: j.templateVersion ?? null, callbackUrl: j.callbackUrl ?? null };
}
