import pg from 'pg';
import type { Job } from '../../domain/job.js';
import type { NewJob } from '../../ports/store.js';
import type { JobState } from '../../domain/states.js';

const INT8 = 20;
const JSON_OID = 114;

/**
 * Type parsers passed with every query of this adapter (not set on the global pg.types, which
 * other code in the process shares). BIGINT holds epoch ms and counts, all below 2^53, so a
 * Number is exact. `json` columns come back as their text so that a JSON `null` result stays
 * distinguishable from SQL NULL (no result); rows.ts parses them.
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return Number;
    if (oid === JSON_OID) return (text: string) => text;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A row of the jobs table as this adapter reads it (see PG_TYPES). */
export interface JobRow {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payload: string;
  priority: number;
  labels: Record<string, string>;
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
  errors: Job['errors'];
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  template_id: string | null;
  template_version: number | null;
  /** Migration 0011; selected by reads only (not part of JOB_COLUMNS): absent from other rows. */
  callback_url?: string | null;
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
    labels: r.labels,
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
    labels: r.labels,
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
    errors: r.errors,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    templateId: r.template_id,
    templateVersion: r.template_version,
    ...(r.callback_url ? { callbackUrl: r.callback_url } : {}),
  };
}

/** The arrays of Q.INSERT_JOBS (one per column) for `jobs`. */
export function insertArrays(jobs: readonly NewJob[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 19 }, () => new Array(jobs.length));
  jobs.forEach((j, i) => {
    const values = [j.id, j.tenant, j.queue, j.type, j.payloadJson, j.priority, JSON.stringify(j.labels), j.state, j.runAt,
      j.expiresAt, j.timeoutMs, j.maxAttempts, JSON.stringify(j.backoff), j.linkId, j.resubmittedFrom, j.createdAt,
      j.templateId ?? null, j.templateVersion ?? null, j.callbackUrl ?? null];
    values.forEach((v, c) => (cols[c]![i] = v));
  });
  return cols;
}
