import { randomUUID } from 'node:crypto';
import type { Json } from '../domain/job.js';
import type { ReportedLogLine } from '../domain/job-log.js';
import type { CompletionResult } from '../ports/store.js';
import type { WorkerDirectory } from '../ports/worker-directory.js';
import type { Jobs } from '../services/jobs/index.js';
import type { Ack, StepAck, ClaimRequest, ClaimedJob, DependencyState, FailureReport, HeartbeatReply, WorkerTransport } from './transport.js';

/**
 * In-process transport: the worker calls the Jobs directly, and hears cancellations at once.
 * Given the engine's worker directory (`docket.workers`), the worker registers there like a remote
 * one: it is listed by GET /v1/workers, its heartbeats count, and its start and clean stop are
 * `registered` and `deregistered` on worker-events.
 */
export class LocalTransport implements WorkerTransport {
  constructor(
    private readonly service: Jobs,
    private readonly workers?: WorkerDirectory,
  ) {}

  async register(info: { queues: readonly string[]; capacity: number; name?: string }): Promise<string> {
    return this.workers ? this.workers.register(info) : `local-${randomUUID()}`;
  }

  async claim(r: ClaimRequest): Promise<ClaimedJob[]> {
    const jobs = await this.service.claims.claim({
      workerId: r.workerId,
      queues: r.queues,
      max: r.max,
      waitMs: r.waitMs,
      ...(r.range ? { range: r.range } : {}),
      ...(r.filter ? { filter: r.filter } : {}),
      ...(r.signal ? { signal: r.signal } : {}),
    });
    return jobs as ClaimedJob[];
  }

  async complete(job: ClaimedJob, result: Json | undefined): Promise<Ack> {
    return ack(await this.service.outcomes.complete(job.id, job.leaseToken, result));
  }

  async fail(job: ClaimedJob, failure: FailureReport): Promise<Ack> {
    const r = await this.service.outcomes.fail(job.id, job.leaseToken, failure);
    return r.ok ? { ok: true, job: r.job } : { ok: false, reason: r.reason };
  }

  async progress(job: ClaimedJob, percent: number, message?: string): Promise<Ack> {
    return ack(await this.service.outcomes.progress(job.id, job.leaseToken, percent, message));
  }

  async stepProgress(job: ClaimedJob, percent: number, message: string, outputs?: Json[]): Promise<StepAck> {
    const r = await this.service.outcomes.progress(job.id, job.leaseToken, percent, message, outputs);
    return r.ok ? { ok: true, outputs: Array.isArray(r.job.result) ? r.job.result : [] } : { ok: false, reason: r.reason, outputs: [] };
  }

  async heartbeat(workerId: string, jobs: readonly ClaimedJob[]): Promise<HeartbeatReply> {
    await this.workers?.touch(workerId);
    return this.service.outcomes.heartbeat(jobs.map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
  }

  async release(job: ClaimedJob): Promise<Ack> {
    return ack(await this.service.outcomes.release(job.id, job.leaseToken));
  }

  async dependencies(job: ClaimedJob): Promise<DependencyState[]> {
    return (await this.service.dependencies.dependenciesOf(job.id))?.dependencies ?? [];
  }

  async logs(job: ClaimedJob, lines: ReportedLogLine[]): Promise<Ack> {
    await this.service.logs.append(job.id, job.attempt, lines);
    return { ok: true };
  }

  onCancel(listener: (jobId: string) => void): () => void {
    return this.service.cancels.onRunningCancelled(listener);
  }

  async unregister(workerId: string): Promise<void> {
    await this.workers?.unregister(workerId);
  }
}

function ack(r: CompletionResult): Ack {
  return r.ok ? { ok: true } : { ok: false, reason: r.reason };
}
