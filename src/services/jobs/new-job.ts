import { v7 as uuidv7 } from 'uuid';
import type { Job, Json } from '../../domain/job.js';
import type { JobSpec } from '../../domain/job-input.js';
import type { NewJob } from '../../ports/store.js';
import { carrierFromText } from '../../domain/trace-context.js';

/** A job about to be inserted, with its payload as a value (the row holds it as JSON text). */
export interface PlannedRow {
  row: NewJob;
  payload: Json;
}

/** Where a new job comes from, besides its spec: the one place a job row is built. */
export interface Origin {
  tenant: string;
  /** The finished job this one submits again (resubmit). */
  resubmittedFrom?: string | null;
  templateId?: string | null;
  templateVersion?: number | null;
}

/**
 * The row of a new job: every way a job is born (submit, bulk, template, event ingestion,
 * resubmit, cron fire) builds it here, from a validated spec. Scheduled when due later, else
 * ready (the dependency planner makes it waiting).
 */
export function newJobRow(spec: JobSpec, origin: Origin, now: number): PlannedRow {
  const id = uuidv7();
  const row: NewJob = {
    id,
    tenant: origin.tenant,
    queue: spec.queue,
    type: spec.type,
    payloadJson: spec.payloadJson,
    priority: spec.priority,
    labels: spec.labels,
    state: spec.runAt > now ? 'scheduled' : 'ready',
    runAt: spec.runAt,
    expiresAt: spec.expiresAt,
    timeoutMs: spec.timeoutMs,
    maxAttempts: spec.maxAttempts,
    backoff: spec.backoff,
    linkId: spec.linkId ?? id,
    resubmittedFrom: origin.resubmittedFrom ?? null,
    createdAt: now,
    templateId: origin.templateId ?? null,
    templateVersion: origin.templateVersion ?? null,
    callbackUrl: spec.callbackUrl,
  };
  return { row, payload: spec.payload };
}

/**
 * The spec of a finished job submitted again: the same spec, due now; a relative expiry is kept
 * relative (the new job gets as long as the old one had). Its dedup key is not carried: the old
 * job no longer holds one.
 */
export function resubmitSpecOf(old: Job, now: number): JobSpec {
  return {
    type: old.type,
    queue: old.queue,
    payload: old.payload,
    payloadJson: JSON.stringify(old.payload),
    priority: old.priority,
    labels: old.labels,
    runAt: now,
    expiresAt: old.expiresAt === null ? null : now + Math.max(0, old.expiresAt - old.createdAt),
    timeoutMs: old.timeoutMs,
    maxAttempts: old.maxAttempts,
    backoff: old.backoff,
    linkId: old.linkId,
    dedupKey: null,
    dedupTtlSeconds: null,
    // The same spec: the new job gets its own callback subscription (the insert trigger makes it).
    callbackUrl: old.callbackUrl ?? null,
  };
}

/** The job as just inserted, without reading it back. */
export function newJobView(r: NewJob, payload: Json): Job {
  return {
    id: r.id,
    tenant: r.tenant,
    queue: r.queue,
    type: r.type,
    payload,
    priority: r.priority,
    labels: r.labels,
    state: r.state,
    stateReason: null,
    runAt: r.runAt,
    expiresAt: r.expiresAt,
    timeoutMs: r.timeoutMs,
    maxAttempts: r.maxAttempts,
    attempt: 0,
    backoff: r.backoff,
    linkId: r.linkId,
    resubmittedFrom: r.resubmittedFrom,
    templateId: r.templateId ?? null,
    templateVersion: r.templateVersion ?? null,
    ...(r.callbackUrl ? { callbackUrl: r.callbackUrl } : {}),
    ...(r.traceContext ? { traceContext: carrierFromText(r.traceContext) } : {}),
    ...(r.dependsOn ? { dependsOn: [...r.dependsOn], onDependencyFailure: r.onDependencyFailure ?? 'cancel' } : {}),
    leaseToken: null,
    leaseExpiresAt: null,
    workerId: null,
    progress: null,
    condition: null,
    blockedAt: null,
    result: undefined,
    errors: [],
    createdAt: r.createdAt,
    updatedAt: r.createdAt,
    startedAt: null,
    finishedAt: null,
  };
}
