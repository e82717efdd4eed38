import type { Job, Json } from '../domain/job.js';
import type { ClaimFilter, PriorityRange } from '../ports/dispatch.js';
import type { ReportedFailure } from '../domain/recovery/classify.js';
import type { DependencyState } from '../ports/dependencies.js';
import type { ReportedLogLine } from '../domain/job-log.js';

export type { DependencyState };

/** A job as a worker holds it: the job plus the lease token that proves the claim. */
export type ClaimedJob<P = Json, R = Json> = Job<P, R> & { leaseToken: string };

export interface ClaimRequest {
  workerId: string;
  queues: readonly string[];
  max: number;
  range?: PriorityRange;
  /** Only matching jobs (types, labels). */
  filter?: ClaimFilter;
  /** Long-poll: wait up to this long when nothing is ready. */
  waitMs: number;
  signal?: AbortSignal;
}

/** What the worker learns when it reports an outcome: false when it no longer held the job. */
export interface Ack {
  ok: boolean;
  /** Why not, for logs: `lease_mismatch`, `wrong_state`, `not_found`. */
  reason?: string;
  /** The job as the report left it, when the transport has it (a failure: retrying, blocked or failed); for the attempt's span. */
  job?: Job;
}

/** A step progress report's answer: the finished steps' outputs the job holds (empty if none). */
export interface StepAck extends Ack {
  outputs: Json[];
}

/** What a worker reports about a failed attempt: one definition, the domain's (domain/recovery/classify.ts). */
export type FailureReport = ReportedFailure;

export interface HeartbeatReply {
  /** Jobs whose lease the worker no longer holds (cancelled, or reassigned after the lease ran out). */
  lost: string[];
  /** Those of `lost` that were cancelled (their handlers see a CancelledError reason). */
  cancelled?: string[];
}

/**
 * How a worker talks to Docket: in-process (LocalTransport, straight to the job services) or over
 * HTTP (HttpTransport, the remote worker protocol). The worker's behaviour is the same on both.
 */
export interface WorkerTransport {
  /** Registers the worker; returns its id. */
  register(info: { queues: readonly string[]; capacity: number; name?: string }): Promise<string>;
  claim(request: ClaimRequest): Promise<ClaimedJob[]>;
  complete(job: ClaimedJob, result: Json | undefined): Promise<Ack>;
  fail(job: ClaimedJob, failure: FailureReport): Promise<Ack>;
  progress(job: ClaimedJob, percent: number, message?: string): Promise<Ack>;
  heartbeat(workerId: string, jobs: readonly ClaimedJob[]): Promise<HeartbeatReply>;
  /** Gives a job back without counting the attempt (graceful shutdown). */
  release(job: ClaimedJob): Promise<Ack>;
  /** Calls `listener` when a job is cancelled, if the transport can tell at once (in-process). */
  onCancel(listener: (jobId: string) => void): () => void;
  /**
   * The claimed job's dependencies with their state and result (docs/dependencies.md): what
   * `ctx.dependencies()` gives a handler. Optional for transports written before dependencies.
   */
  dependencies?(job: ClaimedJob): Promise<DependencyState[]>;
  /**
   * Multi-step jobs (docs/jobs.md#multi-step-jobs): reports progress and, with `outputs`, stores
   * the finished steps' outputs as the job's result; replies with the outputs the job holds (a
   * retry learns which steps are done). Optional for transports written before steps.
   */
  stepProgress?(job: ClaimedJob, percent: number, message: string, outputs?: Json[]): Promise<StepAck>;
  /**
   * Keeps log lines of the claimed job's attempt (docs/logs.md): what a handler writes through
   * `ctx.log`. Optional: without it, lines go to the worker's logger only.
   */
  logs?(job: ClaimedJob, lines: ReportedLogLine[]): Promise<Ack>;
  /** Stops the worker's registration. */
  unregister(workerId: string): Promise<void>;
}
