import type { Job } from '../../domain/job.js';
import type { WorkerRecord } from '../../ports/worker-directory.js';
import type { ClaimedJobView, JobView } from './schemas.js';

/**
 * The JSON face of a job: times as ISO 8601 strings (null when absent). The lease token is the
 * worker's proof of the claim, so it appears only in claim replies, never in reads.
 */
export function jobView(job: Job): JobView {
  const view: JobView = {
    id: job.id,
    tenant: job.tenant,
    queue: job.queue,
    type: job.type,
    payload: job.payload,
    priority: job.priority,
    labels: job.labels,
    state: job.state,
    stateReason: job.stateReason,
    runAt: iso(job.runAt),
    expiresAt: isoOrNull(job.expiresAt),
    timeoutMs: job.timeoutMs,
    maxAttempts: job.maxAttempts,
    attempt: job.attempt,
    backoff: job.backoff,
    linkId: job.linkId,
    resubmittedFrom: job.resubmittedFrom,
    templateId: job.templateId,
    templateVersion: job.templateVersion,
    leaseExpiresAt: isoOrNull(job.leaseExpiresAt),
    workerId: job.workerId,
    progress: job.progress,
    condition: job.condition,
    blockedAt: isoOrNull(job.blockedAt),
    errors: job.errors.map((e) => ({ ...e, at: iso(e.at) })),
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    startedAt: isoOrNull(job.startedAt),
    finishedAt: isoOrNull(job.finishedAt),
  };
  if (job.result !== undefined) view.result = job.result;
  if (job.callbackUrl) view.callbackUrl = job.callbackUrl;
  if (job.traceContext) view.traceContext = job.traceContext;
  if (job.dependsOn) {
    view.dependsOn = job.dependsOn;
    view.onDependencyFailure = job.onDependencyFailure ?? 'cancel';
  }
  return view;
}

export function claimedJobView(job: Job): ClaimedJobView {
  if (job.leaseToken === null) throw new Error(`job ${job.id} was handed out without a lease token`);
  return { ...jobView(job), leaseToken: job.leaseToken };
}

export function workerView(w: WorkerRecord) {
  return {
    id: w.id,
    name: w.name,
    queues: w.queues,
    capacity: w.capacity,
    labels: w.labels,
    tenant: w.tenant,
    status: w.status,
    registeredAt: iso(w.registeredAt),
    lastHeartbeatAt: iso(w.lastHeartbeatAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
