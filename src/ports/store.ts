import type { RunningCount } from './dispatch.js';
import type { JobLogStore } from './job-log-store.js';
import type { DispatchEntry, Job, JobError, JobProgress, Json } from '../domain/job.js';
import type { EventLog } from './event-log.js';
import type { JobDependencies } from './dependencies.js';
import type { DependencyFailurePolicy } from '../domain/dag.js';
import type { JobState } from '../domain/states.js';
import type { TransitionResult } from '../domain/outcomes.js';
import type { Backoff } from '../domain/backoff.js';
import type { QueueDepth } from '../domain/queue-depths.js';
import type { QueueActivityRows } from '../domain/queue-activity.js';
import type { ScheduleStore } from './schedule-store.js';
import type { TemplateStore } from './template-store.js';
import type { WebhookStore } from './webhook-store.js';
import type { AlertStore } from './alert-store.js';

export type { QueueDepth, QueueActivityRows };

/** A job about to be inserted: every field the store needs, already validated. */
export interface NewJob {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payloadJson: string;
  priority: number;
  labels: Record<string, string>;
  state: JobState;
  runAt: number;
  expiresAt: number | null;
  timeoutMs: number | null;
  maxAttempts: number;
  backoff: Backoff;
  linkId: string;
  resubmittedFrom: string | null;
  createdAt: number;
  /** The template and version the job was created from; absent or null for none. */
  templateId?: string | null;
  templateVersion?: number | null;
  /**
   * Jobs this one waits for (docs/dependencies.md): existing jobs of the tenant, or jobs of the
   * same insert. A job with dependencies is inserted `waiting`; the store releases or cancels it.
   */
  dependsOn?: readonly string[];
  /** @defaultValue 'cancel' */
  onDependencyFailure?: DependencyFailurePolicy;
  /**
   * Where the job's end is posted: the store's insert trigger subscribes it (a job-scoped webhook
   * signed with the tenant's callback secret) in the insert's transaction. Absent or null: none.
   */
  callbackUrl?: string | null;
  /** The submit's W3C trace context as JSON text (domain/trace-context.ts carrierText); absent or null: none. */
  traceContext?: string | null;
}

/** Fields a transition may set besides the state. Absent means unchanged; null clears. */
export interface JobPatch {
  stateReason?: string | null;
  runAt?: number;
  /** Set when a released attempt must not count (graceful shutdown). */
  attempt?: number;
  leaseToken?: string | null;
  leaseExpiresAt?: number | null;
  workerId?: string | null;
  result?: Json;
  /** Appended to the job's error history. */
  error?: JobError;
  progress?: JobProgress | null;
  condition?: string | null;
  blockedAt?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
}

/**
 * One guarded write: applies only if the job is in one of `from` and, when `leaseToken` is
 * given, holds that lease token.
 */
export interface TransitionRequest {
  id: string;
  from: readonly JobState[];
  leaseToken?: string;
  to: JobState;
  patch: JobPatch;
  now: number;
}

/** A running job's success, guarded by its lease token. */
export interface Completion {
  id: string;
  leaseToken: string;
  result: Json | undefined;
}

export type CompletionResult = { ok: true } | Extract<TransitionResult, { ok: false }>;

/** A ready job to claim, and the fresh lease token it is to run under (the SDK's ClaimRequest is a worker's request for jobs). */
export interface JobClaim {
  id: string;
  leaseToken: string;
}

export interface ClaimResult {
  /** Jobs now running under the given lease tokens. */
  claimed: Job[];
  /** Jobs that were ready but past their expiresAt: moved to expired instead of running. */
  expired: Job[];
}

export interface JobFilter {
  tenant?: string;
  queue?: string;
  state?: JobState;
  type?: string;
  linkId?: string;
  /** Jobs created from this template (any version). */
  templateId?: string;
  /** Jobs carrying every one of these labels. */
  labels?: Record<string, string>;
  /** Jobs claimed by this worker. */
  workerId?: string;
  /** Jobs parked under this recovery condition. */
  condition?: string;
  /** Jobs with an error whose message contains this text (case-insensitive). */
  errorText?: string;
  /** Jobs whose payload field at `path` (object keys) is `value`, compared as text (docs/api.md#jobs). */
  payload?: { path: readonly string[]; value: string };
  /** Finished at or after / before (epoch ms). */
  finishedAfter?: number;
  finishedBefore?: number;
  createdAfter?: number;
  createdBefore?: number;
}

export interface JobPage {
  jobs: Job[];
  /** Pass back as `after` to read the next page; null on the last page. */
  nextCursor: string | null;
}

/**
 * The first answer to a submit that carried an Idempotency-Key: a retry with the same key and the
 * same body gets it again, without creating anything.
 */
export interface IdempotencyRecord {
  tenant: string;
  key: string;
  /** SHA-256 of the request body: the same key with another body is refused. */
  requestHash: string;
  status: number;
  /** The response body, JSON. */
  response: string;
  createdAt: number;
}

/** A job's dedup key (domain/dedup.ts), held per tenant until `expiresAt`. */
export interface DedupKey {
  key: string;
  expiresAt: number;
}

/** What insertJobsDeduplicated did. */
export interface DedupInsert {
  /** The idempotency key was taken by an earlier request: nothing was written, this is its record. */
  earlier: IdempotencyRecord | null;
  /** Per job, in order: the live job that holds its key (this one was not inserted), or null (inserted). */
  existing: (Job | null)[];
}

/**
 * A recovery condition: the shared cause many jobs are parked under (a downstream service down).
 * `open`: jobs park, a probe runs now and then; `probing`: one job (`probeJobId`) is out testing
 * it; `releasing`: the probe succeeded and parked jobs go back to the queue at a throttled rate.
 */
export interface ConditionRecord {
  key: string;
  status: 'open' | 'probing' | 'releasing';
  firstSeenAt: number;
  lastSeenAt: number;
  lastError: string;
  /** Failures reported with this condition since it opened. */
  failures: number;
  probeJobId: string | null;
  nextProbeAt: number;
  /** Probes that failed in a row (drives the probe backoff). */
  probeFailures: number;
  /** When releasing started (drives the ramp-up), else null. */
  releasingSince: number | null;
  /** Jobs released since releasing started. */
  released: number;
  updatedAt: number;
}

/** Parked jobs per condition, queue and tenant. */
export interface ParkedCount {
  condition: string;
  queue: string;
  tenant: string;
  count: number;
}

export interface LeaseExtension {
  id: string;
  leaseToken: string;
}

/**
 * The durable truth: jobs and their state. Every adapter passes the conformance suite in
 * test/conformance.
 */
/**
 * The stores an engine keeps in the same database as its jobs (their tables come with the job
 * store's migrations), so that their writes commit with the jobs and events they concern.
 */
export interface StoreCompanions {
  schedules: ScheduleStore;
  templates: TemplateStore;
  webhooks: WebhookStore;
  alerts: AlertStore;
  /** Job logs: the lines handlers write, in tables of their own. */
  logs: JobLogStore;
}

export interface Store {
  /**
   * The engine's other stores, on the same database (the same objects on every call). Absent on a store that has none: templates,
   * webhooks and alerts are then off unless given separately.
   */
  companions?(): StoreCompanions;
  /** The event log (outbox) the store writes job changes to, in the same transactions. */
  readonly events: EventLog;
  /** Dependencies between jobs: read them, and hear of dependents released (ports/dependencies.ts). */
  readonly dependencies: JobDependencies;
  /** Brings the schema to the latest version. Safe to call from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Inserts all jobs or none. With `idempotency`, records it in the same transaction; when its
   * (tenant, key) is already taken, inserts nothing and returns the earlier record.
   */
  insertJobs(jobs: readonly NewJob[], idempotency?: IdempotencyRecord): Promise<IdempotencyRecord | null>;
  getJob(id: string): Promise<Job | undefined>;
  /** Newest first, cursor-paginated by id (UUIDv7: stable under inserts). */
  listJobs(filter: JobFilter, limit: number, after?: string): Promise<JobPage>;
  /** Guarded moves, applied in one transaction; one result per request, in order. */
  transition(requests: readonly TransitionRequest[]): Promise<TransitionResult[]>;
  /**
   * running -> succeeded for each job whose lease token matches, in one transaction. Returns no
   * job on success: reading the row back cost more than the write (see docs/benchmarks.md).
   */
  completeJobs(completions: readonly Completion[], now: number): Promise<CompletionResult[]>;
  /**
   * ready -> running for each job, with its fresh lease token, attempt + 1. Jobs no longer ready
   * are skipped; ready jobs past expiresAt move to expired instead. Claimed jobs come without their
   * history (errors, result, progress, stateReason): a worker needs none, and reading it slowed
   * claims; `getJob` has it.
   */
  claimJobs(claims: readonly JobClaim[], workerId: string, leaseExpiresAt: number, now: number): Promise<ClaimResult>;
  /**
   * Pushes the lease deadline of running jobs whose lease is still valid at `now`; returns the ids
   * whose lease is no longer held (other token, not running, or already run out).
   */
  extendLeases(leases: readonly LeaseExtension[], leaseExpiresAt: number, now: number): Promise<string[]>;
  /** Running jobs whose lease ran out before `now`. */
  findExpiredLeases(now: number, limit: number): Promise<Job[]>;
  /** Not-yet-started jobs whose expiresAt has passed. */
  findExpired(now: number, limit: number): Promise<Job[]>;
  /** Jobs the dispatch index must hold (ready, scheduled, retrying), to rebuild it after a restart. */
  loadDispatchable(): AsyncIterable<{ entry: DispatchEntry; state: JobState }>;
  /** Number of jobs per state. */
  countByState(filter: Pick<JobFilter, 'tenant' | 'queue'>): Promise<Record<JobState, number>>;
  /** Queues that have jobs (or are paused), with job counts per state. */
  countByQueue(filter: Pick<JobFilter, 'tenant'>): Promise<QueueDepth[]>;
  /** Running jobs per queue and tenant (the running sweep checks capped queues' counts against it). */
  countRunning(): Promise<RunningCount[]>;
  /** Running jobs per worker holding any: one read for every worker's status, however many workers there are. */
  runningByWorker(): Promise<{ workerId: string; running: number }[]>;
  /**
   * Recent activity of `queues` (the dashboard's charts): jobs finished at or after `since` per
   * queue, end state and slot of `bucketMs`, and the due time of each queue's oldest ready job.
   */
  queueActivity(filter: Pick<JobFilter, 'tenant'> & { queues: readonly string[] }, since: number, bucketMs: number): Promise<QueueActivityRows>;

  findIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined>;
  /** Forgets idempotency records created before `before`; returns how many. */
  pruneIdempotency(before: number): Promise<number>;
  /**
   * insertJobs for jobs with dedup keys (`keys[i]` for `jobs[i]`; null: none), in one transaction.
   * A key not held, held past its `expiresAt`, or held by a job that ended without doing its work
   * (failed, cancelled, expired, deleted) is taken for the job, which is inserted; a key held by
   * any other job keeps it, and the job is not inserted. Concurrent calls with the same key create
   * one job. With `idempotency`, its key is taken first (when already taken: nothing is written,
   * `earlier` says why), and `render` gives its stored status and response from the outcome.
   */
  insertJobsDeduplicated(
    jobs: readonly NewJob[],
    keys: readonly (DedupKey | null)[],
    idempotency?: IdempotencyRecord,
    render?: (existing: readonly (Job | null)[]) => { status: number; response: string },
  ): Promise<DedupInsert>;
  /** Forgets dedup keys whose window ended before `now`; returns how many. */
  pruneDedupKeys(now: number): Promise<number>;

  /** A paused queue dispatches nothing; its jobs wait, and submits are still accepted. */
  setQueuePaused(queue: string, paused: boolean, now: number): Promise<void>;
  pausedQueues(): Promise<string[]>;

  // ---- recovery conditions and dead letters ----

  /** Records a failure under `key`: creates the condition (status open) or updates lastSeenAt, lastError, failures + 1. */
  recordConditionFailure(key: string, error: string, now: number, nextProbeAt: number): Promise<ConditionRecord>;
  getCondition(key: string): Promise<ConditionRecord | undefined>;
  /** Every condition, by key. */
  listConditions(): Promise<ConditionRecord[]>;
  /**
   * Writes a condition's recovery fields; applies only if its `updatedAt` is still `expectedUpdatedAt`
   * (no lost update between leaders). The failure fields (lastSeenAt, lastError, failures) are left
   * to recordConditionFailure, so a failure recorded since the read is never overwritten.
   */
  saveCondition(record: ConditionRecord, expectedUpdatedAt: number): Promise<boolean>;
  deleteCondition(key: string): Promise<void>;
  /** Parked (blocked) jobs per condition, queue and tenant. */
  parkedCounts(): Promise<ParkedCount[]>;
  /** The (condition, queue, type) combinations of parked jobs: what each condition's gate holds back. */
  parkedScopes(): Promise<{ condition: string; queue: string; type: string }[]>;
  /** Parked jobs of a condition in release order: priority, then due time, then submission. */
  listParked(condition: string, limit: number): Promise<Job[]>;
  /** Deletes jobs (purge, retention); returns how many. */
  deleteJobs(ids: readonly string[]): Promise<number>;
  /**
   * Finished jobs of `queue` in `state` to prune: those finished before `finishedBefore`, and those
   * beyond the newest `keep`. Returns up to `limit` ids, oldest first.
   */
  findPrunable(queue: string, state: JobState, finishedBefore: number | null, keep: number | null, limit: number): Promise<string[]>;

  /** Answers when the store can serve requests (readiness probe); throws otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
