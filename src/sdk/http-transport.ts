import type { Job, Json } from '../domain/job.js';
import type { ReportedLogLine } from '../domain/job-log.js';
import type { JobView } from '../interfaces/http/schemas.js';
import { DocketApiError, DocketClient, type ClientOptions } from './client.js';
import type { Ack, StepAck, ClaimRequest, ClaimedJob, DependencyState, FailureReport, HeartbeatReply, WorkerTransport } from './transport.js';

/** The server's limits on one claim (see ClaimBody); a worker asking for more gets them clamped. */
const MAX_CLAIM = 1000;
const MAX_WAIT_MS = 60_000;

type WorkerInfo = Parameters<WorkerTransport['register']>[0];

/**
 * The remote worker protocol over HTTP. A worker sees the same ClaimedJob as in-process: the JSON
 * view's ISO times are turned back into epoch ms. Cancellation of a running job reaches the worker
 * through the `lost` list of its next heartbeat, so onCancel has nothing to subscribe to.
 */
export class HttpTransport implements WorkerTransport {
  private readonly client: DocketClient;
  private info: WorkerInfo | null = null;
  /** Id the worker was given first -> id the server knows now (after a re-registration). */
  private readonly current = new Map<string, string>();

  constructor(options: ClientOptions) {
    this.client = new DocketClient(options);
  }

  /** GET /v1/jobs/:id/dependencies, with times back to epoch ms as in-process. */
  async dependencies(job: ClaimedJob): Promise<DependencyState[]> {
    const { dependencies } = await this.client.dependencies(job.id);
    return dependencies.map((d) => ({
      id: d.id,
      type: d.type,
      state: d.state,
      result: d.result as Json | undefined,
      error: d.error && { ...d.error, at: Date.parse(d.error.at) },
      finishedAt: d.finishedAt === null ? null : Date.parse(d.finishedAt),
    }));
  }

  async register(info: WorkerInfo): Promise<string> {
    this.info = info;
    const { id } = await this.client.registerWorker({ queues: [...info.queues], capacity: info.capacity, ...(info.name ? { name: info.name } : {}) });
    return id;
  }

  async claim(r: ClaimRequest): Promise<ClaimedJob[]> {
    const options = {
      max: Math.max(1, Math.min(MAX_CLAIM, r.max)),
      waitMs: Math.max(0, Math.min(MAX_WAIT_MS, r.waitMs)),
      ...(r.range ? { priorityMin: r.range.min, priorityMax: r.range.max } : {}),
      ...(r.filter?.types ? { types: [...r.filter.types] } : {}),
      ...(r.filter?.labels ? { labels: { ...r.filter.labels } } : {}),
    };
    const jobs = await this.client.claim(r.queues, this.idOf(r.workerId), options, r.signal);
    return jobs.map((v) => ({ ...fromView(v), leaseToken: v.leaseToken }));
  }

  complete(job: ClaimedJob, result: Json | undefined): Promise<Ack> {
    return this.report(job, 'complete', { leaseToken: job.leaseToken, ...(result !== undefined ? { result } : {}) });
  }

  fail(job: ClaimedJob, failure: FailureReport): Promise<Ack> {
    const error = { message: failure.message, ...(failure.code !== undefined ? { code: failure.code } : {}), ...(failure.name !== undefined ? { name: failure.name } : {}) };
    return this.report(job, 'fail', {
      leaseToken: job.leaseToken,
      error,
      ...(failure.retryable !== undefined ? { retryable: failure.retryable } : {}),
      ...(failure.condition !== undefined ? { condition: failure.condition } : {}),
    });
  }

  progress(job: ClaimedJob, percent: number, message?: string): Promise<Ack> {
    return this.report(job, 'progress', { leaseToken: job.leaseToken, percent, ...(message !== undefined ? { message } : {}) });
  }

  /** POST /v1/jobs/:id/progress with the outputs; the reply is the job, its result the outputs kept. */
  async stepProgress(job: ClaimedJob, percent: number, message: string, outputs?: Json[]): Promise<StepAck> {
    const body = { leaseToken: job.leaseToken, percent, message, ...(outputs !== undefined ? { outputs } : {}) };
    try {
      const view = await this.client.request<JobView>('POST', `/v1/jobs/${encodeURIComponent(job.id)}/progress`, body);
      return { ok: true, outputs: Array.isArray(view.result) ? (view.result as Json[]) : [] };
    } catch (err) {
      if (err instanceof DocketApiError && (err.status === 409 || err.status === 404)) return { ok: false, reason: reasonOf(err), outputs: [] };
      throw err;
    }
  }

  /** POST /v1/jobs/:id/logs: one batch of the attempt's lines, under its lease. */
  logs(job: ClaimedJob, lines: ReportedLogLine[]): Promise<Ack> {
    return this.report(job, 'logs', { leaseToken: job.leaseToken, lines: lines.map((l) => ({ ...l, at: new Date(l.at).toISOString() })) });
  }

  release(job: ClaimedJob): Promise<Ack> {
    return this.report(job, 'release', { leaseToken: job.leaseToken });
  }

  async heartbeat(workerId: string, jobs: readonly ClaimedJob[]): Promise<HeartbeatReply> {
    const leases = jobs.map((j) => ({ id: j.id, leaseToken: j.leaseToken }));
    const send = (): Promise<HeartbeatReply> => this.client.heartbeat(this.idOf(workerId), leases);
    try {
      return await send();
    } catch (err) {
      // The registry is in memory: after a server restart it no longer knows this worker.
      // Register again under a new id and carry on; the leases live in the store and still hold.
      if (!(err instanceof DocketApiError && err.status === 404 && this.info)) throw err;
      this.current.set(workerId, await this.register(this.info));
      return send();
    }
  }

  onCancel(_listener: (jobId: string) => void): () => void {
    return () => {};
  }

  async unregister(workerId: string): Promise<void> {
    try {
      await this.client.unregisterWorker(this.idOf(workerId));
    } catch (err) {
      if (!(err instanceof DocketApiError && err.status === 404)) throw err;
    }
  }

  private idOf(workerId: string): string {
    return this.current.get(workerId) ?? workerId;
  }

  /** A refused report (stale lease, job gone) is an answer, not an error: the worker logs it. */
  private async report(job: ClaimedJob, action: string, body: unknown): Promise<Ack> {
    try {
      const view = await this.client.request<JobView>('POST', `/v1/jobs/${encodeURIComponent(job.id)}/${action}`, body);
      // What a failure did (retrying, blocked, failed), for the attempt's span.
      return action === 'fail' ? { ok: true, job: fromView(view) } : { ok: true };
    } catch (err) {
      if (err instanceof DocketApiError && (err.status === 409 || err.status === 404)) return { ok: false, reason: reasonOf(err) };
      throw err;
    }
  }
}

/** `urn:docket:problem:lease-mismatch` -> `lease_mismatch`. */
function reasonOf(err: DocketApiError): string {
  const slug = err.problem?.type.split(':').pop();
  return slug && slug !== 'blank' ? slug.replace(/-/g, '_') : err.status === 404 ? 'not_found' : 'conflict';
}

/** The JSON view back to the Job shape (epoch ms, null lease token until the caller adds it). */
export function fromView(v: JobView): Job {
  return {
    id: v.id,
    tenant: v.tenant,
    queue: v.queue,
    type: v.type,
    payload: v.payload as Json,
    priority: v.priority,
    labels: v.labels,
    state: v.state,
    stateReason: v.stateReason,
    runAt: ms(v.runAt),
    expiresAt: msOrNull(v.expiresAt),
    timeoutMs: v.timeoutMs,
    maxAttempts: v.maxAttempts,
    attempt: v.attempt,
    backoff: v.backoff,
    linkId: v.linkId,
    resubmittedFrom: v.resubmittedFrom,
    // A server older than templates sends neither.
    templateId: v.templateId ?? null,
    templateVersion: v.templateVersion ?? null,
    ...(v.callbackUrl ? { callbackUrl: v.callbackUrl } : {}),
    ...(v.traceContext ? { traceContext: v.traceContext } : {}),
    leaseToken: null,
    leaseExpiresAt: msOrNull(v.leaseExpiresAt),
    workerId: v.workerId,
    progress: v.progress,
    condition: v.condition,
    blockedAt: msOrNull(v.blockedAt),
    result: v.result as Json | undefined,
    errors: v.errors.map((e) => ({ ...e, at: ms(e.at) })),
    createdAt: ms(v.createdAt),
    updatedAt: ms(v.updatedAt),
    startedAt: msOrNull(v.startedAt),
    finishedAt: msOrNull(v.finishedAt),
  };
}

function ms(iso: string): number {
  return Date.parse(iso);
}

function msOrNull(iso: string | null): number | null {
  return iso === null ? null : Date.parse(iso);
}
