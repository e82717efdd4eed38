import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { backoffDelay } from '../domain/backoff.js';
import { classify, type ReportedFailure } from '../domain/recovery/classify.js';
import { policyFor, probeDelayMs, type RecoveryPolicy } from '../domain/recovery/policy.js';
import type { CompiledRule } from '../domain/recovery/classify.js';
import { IdempotencyConflictError, PayloadTooLargeError, ValidationError } from '../domain/errors.js';
import { routeOf, type RoutingRule } from '../domain/routing.js';
import { DEFAULT_INPUT_LIMITS, toJobSpec, type InputLimits, type JobSpec } from '../domain/job-input.js';
import { toDispatchEntry, type DispatchEntry, type Job, type JobError, type Json } from '../domain/job.js';
import type { TransitionFailure, TransitionResult } from '../domain/outcomes.js';
import { TRANSITIONS, isTerminal, type JobState } from '../domain/states.js';
import type { Clock } from '../ports/clock.js';
import type { ClaimFilter, Dispatch, FairnessPolicy, PriorityRange } from '../ports/dispatch.js';
import type { JobCache } from '../ports/job-cache.js';
import type { Completion, CompletionResult, IdempotencyRecord, JobFilter, QueueDepth, JobPage, LeaseExtension, NewJob, Store, TransitionRequest } from '../ports/store.js';
import { activityOf, type QueueActivity } from '../domain/queue-activity.js';
import { Batcher } from './batcher.js';
import { Lifecycle } from './lifecycle.js';
import { RecoveryEvents } from './recovery-events.js';
import { DependencyPlanner } from './dependencies.js';
import type { TemplateService } from './template-service.js';
import type { DedupRule } from '../domain/dedup.js';
import type { NewLogEvent } from '../ports/event-log.js';
import { claimsOf, insertDeduplicated, type Submitted } from './dedup-submit.js';

export type { Submitted };

export interface JobServiceOptions {
  /** How long a claim holds a job without a heartbeat. @defaultValue 30 000 ms */
  leaseMs: number;
  limits: InputLimits;
  /** Source of jitter; injected so tests are deterministic. @defaultValue Math.random */
  random: () => number;
  /** Finished jobs kept for reads (production: Redis, 1 h). @defaultValue none */
  cache?: JobCache;
  /** Classification rules for plain errors, and recovery policies per condition (config file). */
  recovery: { rules: CompiledRule[]; policies: RecoveryPolicy[] };
  /** Resolves `templateId` in submits (docs/templates.md). @defaultValue none: such submits are refused */
  templates?: TemplateService;
  /** Dedup rules of the config file (docs/jobs.md#deduplication). @defaultValue none: only jobs with their own dedupKey dedup */
  dedup?: readonly DedupRule[];
  /**
   * Tenant weights and caps (config `fairness`), the ones the dispatch was built with: with caps,
   * the service releases running slots as jobs stop. @defaultValue none
   */
  fairness?: FairnessPolicy;
  /** Type -> queue rules for submits that name no queue (config `routing`). @defaultValue none */
  routing?: readonly RoutingRule[];
}

export const DEFAULT_SERVICE_OPTIONS: JobServiceOptions = { leaseMs: 30_000, limits: DEFAULT_INPUT_LIMITS, random: Math.random, recovery: { rules: [], policies: [] } };

export interface SubmitContext {
  tenant: string;
  resubmittedFrom?: string;
}

export interface ClaimOptions {
  workerId: string;
  queues: readonly string[];
  max: number;
  range?: PriorityRange;
  /** Only jobs of these types / with these labels (insights). */
  filter?: ClaimFilter;
  /** Wait up to this long for work when none is ready. @defaultValue 0 */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface IdempotentSubmit {
  key: string;
  /** SHA-256 of the request body. */
  requestHash: string;
  /**
   * The response to store and replay, built from the jobs: new ones, or for a job whose dedup key
   * was held, the job that holds it (`deduplicated[i]` true).
   */
  render(jobs: Job[], deduplicated: readonly boolean[]): { status: number; body: unknown };
}

export interface IdempotentReply {
  status: number;
  /** JSON text of the response body. */
  response: string;
  /** true when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** What a worker reports about a failed attempt (see domain/recovery/classify.ts). */
export type FailureReport = ReportedFailure;

/**
 * The job engine: every change of a job's state goes through here, checked against the
 * transition table and written as a guarded update. Interfaces (HTTP, CLI, SDK) call it; it calls
 * the ports.
 */
export class JobService {
  readonly lifecycle = new Lifecycle();
  /** Recovery conditions opening, probing, clearing (services/maintenance/recovery-loop.ts). */
  readonly recoveryEvents = new RecoveryEvents();
  /** Listeners told when a running job is cancelled (in-process workers abort it). */
  private readonly cancelListeners = new Set<(jobId: string) => void>();
  private readonly options: JobServiceOptions;
  private readonly completer: Batcher<Completion, CompletionResult>;
  private paused = new Set<string>();
  /** `queue \0 type` -> the open condition that holds such jobs back (see refreshGates). */
  private gates = new Map<string, string>();
  private pauseVersion = 0;
  /** Fairness rules when any queue caps tenants: then running slots are released as jobs stop. */
  private readonly fairness: FairnessPolicy | null;
  /**
   * Jobs of capped queues claimed here, id -> place: a completion carries only the id. A job
   * finished through another process is missed here and corrected by the running sweep.
   */
  private readonly capped = new Map<string, { id: string; queue: string; tenant: string }>();
  /** Aborted (and replaced) whenever a queue is resumed: wakes claims waiting on paused queues. */
  private resumed = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly dispatch: Dispatch,
    private readonly clock: Clock,
    options: Partial<JobServiceOptions> = {},
  ) {
    this.options = { ...DEFAULT_SERVICE_OPTIONS, ...options };
    this.fairness = this.options.fairness ?? null;
    this.completer = new Batcher<Completion, CompletionResult>((items) => this.completeBatch(items));
    this.dependencies = new DependencyPlanner(store);
    // Dependents the store released (their last dependency settled) go to the dispatch index like any new ready job.
    store.dependencies.onReleased((entries) => this.dispatch.enqueue(entries));
  }

  /** Dependencies between jobs: planning submits, reading a job's dependencies (services/dependencies.ts). */
  readonly dependencies: DependencyPlanner;

  get leaseMs(): number {
    return this.options.leaseMs;
  }

  /**
   * Validates and stores jobs, all or none: a bad item fails the whole call with every issue
   * named by its path (`/3/priority`). Ready jobs wake idle workers at once.
   */
  async submit(inputs: readonly unknown[], ctx: SubmitContext): Promise<Job[]> {
    return (await this.submitJobs(inputs, ctx)).map((s) => s.job);
  }

  /**
   * submit, saying per job whether it was created or answered by the job that holds its dedup key
   * (docs/jobs.md#deduplication; nothing is created for those, and a `deduplicated` event is logged).
   */
  async submitJobs(inputs: readonly unknown[], ctx: SubmitContext): Promise<Submitted[]> {
    const now = this.clock.now();
    const rows = await this.rowsOf(inputs, ctx, now);
    const claims = claimsOf(inputs, rows, this.options.dedup ?? [], now);
    if (claims) {
      const out = await insertDeduplicated(this.store, rows, claims, (r) => newJobView(r.row, r.payload), now);
      await this.afterDedup(out.created, out.events, now);
      return out.submitted;
    }
    await this.store.insertJobs(rows.map((r) => r.row));
    return (await this.publish(rows, now)).map((job) => ({ job, deduplicated: false }));
  }

  /** The new jobs of a deduplicating submit go out as usual; the duplicates answered are logged. */
  private async afterDedup(created: readonly { row: NewJob; payload: Json }[], events: readonly NewLogEvent[], now: number): Promise<void> {
    await this.publish(created, now);
    if (events.length > 0) await this.store.events.append(events);
  }

  /**
   * Submit with an idempotency key: the first call stores its response with the jobs, in one
   * transaction; a retry with the same key and body gets that response back and creates nothing;
   * the same key with another body is refused (IdempotencyConflictError).
   */
  async submitOnce(inputs: readonly unknown[], ctx: SubmitContext, once: IdempotentSubmit): Promise<IdempotentReply> {
    const earlier = await this.store.findIdempotency(ctx.tenant, once.key);
    if (earlier) return replay(earlier, once);
    const now = this.clock.now();
    const rows = await this.rowsOf(inputs, ctx, now);
    const claims = claimsOf(inputs, rows, this.options.dedup ?? [], now);
    if (claims) {
      // The record is taken first (placeholder answer) and given its answer once the keys are decided, in one transaction.
      const record = { tenant: ctx.tenant, key: once.key, requestHash: once.requestHash, status: 0, response: '', createdAt: now };
      let answer = { status: 0, response: '' };
      const render = (submitted: Submitted[]) => {
        const { status, body } = once.render(submitted.map((s) => s.job), submitted.map((s) => s.deduplicated));
        return (answer = { status, response: JSON.stringify(body) });
      };
      const out = await insertDeduplicated(this.store, rows, claims, (r) => newJobView(r.row, r.payload), now, { record, render });
      if (out.earlier) return replay(out.earlier, once);
      await this.afterDedup(out.created, out.events, now);
      return { ...answer, replayed: false };
    }
    const jobs = rows.map((r) => newJobView(r.row, r.payload));
    const { status, body } = once.render(jobs, jobs.map(() => false));
    const record = { tenant: ctx.tenant, key: once.key, requestHash: once.requestHash, status, response: JSON.stringify(body), createdAt: now };
    const taken = await this.store.insertJobs(rows.map((r) => r.row), record);
    if (taken) return replay(taken, once); // a concurrent request with the same key won
    await this.publish(rows, now);
    return { status, response: record.response, replayed: false };
  }

  /**
   * Submits a finished job again as a new job: same spec, same linkId, `resubmittedFrom` naming the
   * old one. A relative expiry is kept relative (the new job gets as long as the old one had).
   */
  async resubmit(id: string): Promise<Job | TransitionFailure> {
    const old = await this.store.getJob(id);
    if (!old) return { ok: false, reason: 'not_found' };
    if (!isTerminal(old.state)) return { ok: false, reason: 'wrong_state', state: old.state };
    const now = this.clock.now();
    const newId = uuidv7();
    const row: NewJob = {
      id: newId,
      tenant: old.tenant,
      queue: old.queue,
      type: old.type,
      payloadJson: JSON.stringify(old.payload),
      priority: old.priority,
      labels: old.labels,
      state: 'ready',
      runAt: now,
      expiresAt: old.expiresAt === null ? null : now + Math.max(0, old.expiresAt - old.createdAt),
      timeoutMs: old.timeoutMs,
      maxAttempts: old.maxAttempts,
      backoff: old.backoff,
      linkId: old.linkId,
      resubmittedFrom: old.id,
      createdAt: now,
      templateId: old.templateId ?? null,
      templateVersion: old.templateVersion ?? null,
      // The same spec: the new job gets its own callback subscription (the insert trigger makes it).
      callbackUrl: old.callbackUrl ?? null,
    };
    await this.store.insertJobs([row]);
    const [job] = await this.publish([{ row, payload: old.payload }], now);
    return job!;
  }

  /** The template service, when templates are on. */
  get templates(): TemplateService | undefined {
    return this.options.templates;
  }

  /** toRows, after replacing template references by the jobs they stand for (services/template-service.ts). */
  private async rowsOf(inputs: readonly unknown[], ctx: SubmitContext, now: number): Promise<{ row: NewJob; payload: Json }[]> {
    const templates = this.options.templates;
    if (!templates || !inputs.some((i) => typeof i === 'object' && i !== null && ('templateId' in i || 'templateVersion' in i))) {
      const rows = this.toRows(inputs, ctx, now);
      await this.dependencies.attach(inputs, rows, ctx.tenant);
      return rows;
    }
    const { inputs: jobs, origins } = await templates.expand(inputs, ctx.tenant, now);
    const rows = this.toRows(jobs, ctx, now);
    rows.forEach((r, i) => Object.assign(r.row, { templateId: origins[i]?.id ?? null, templateVersion: origins[i]?.version ?? null }));
    await this.dependencies.attach(jobs, rows, ctx.tenant);
    return rows;
  }

  private toRows(inputs: readonly unknown[], ctx: SubmitContext, now: number): { row: NewJob; payload: Json }[] {
    const many = inputs.length > 1;
    const specs: JobSpec[] = [];
    const issues: ValidationError['issues'] = [];
    inputs.forEach((input, i) => {
      try {
        const spec = toJobSpec(input, now, this.options.limits, many ? `/${i}` : '');
        const routed = this.options.routing && (input as { queue?: unknown }).queue === undefined ? routeOf(this.options.routing, spec.type) : undefined;
        specs.push(routed ? { ...spec, queue: routed } : spec);
      } catch (err) {
        if (err instanceof ValidationError) issues.push(...err.issues);
        else throw err;
      }
    });
    if (issues.length > 0) throw new ValidationError(issues);
    return specs.map((s) => {
      const id = uuidv7();
      const row: NewJob = {
        id,
        tenant: ctx.tenant,
        queue: s.queue,
        type: s.type,
        payloadJson: s.payloadJson,
        priority: s.priority,
        labels: s.labels,
        state: s.runAt > now ? 'scheduled' : 'ready',
        runAt: s.runAt,
        expiresAt: s.expiresAt,
        timeoutMs: s.timeoutMs,
        maxAttempts: s.maxAttempts,
        backoff: s.backoff,
        linkId: s.linkId ?? id,
        resubmittedFrom: ctx.resubmittedFrom ?? null,
        createdAt: now,
        callbackUrl: s.callbackUrl,
      };
      return { row, payload: s.payload };
    });
  }

  /** After the insert: hands the new jobs to the dispatch index (waking idle workers) and tells listeners. */
  private async publish(rows: readonly { row: NewJob; payload: Json }[], now: number): Promise<Job[]> {
    const jobs = rows.map((r) => newJobView(r.row, r.payload));
    const released = await this.dependencies.settledAtInsert(jobs);
    if (released.length > 0) await this.dispatch.enqueue(released);
    const ready = jobs.filter((j) => j.state === 'ready' && !j.dependsOn).map(toDispatchEntry);
    const delayed = jobs.filter((j) => j.state === 'scheduled').map(toDispatchEntry);
    if (delayed.length > 0) await this.dispatch.schedule(delayed);
    if (ready.length > 0) await this.dispatch.enqueue(ready);
    if (this.lifecycle.active) for (const job of jobs) this.emit(job, null, job.state, now);
    return jobs;
  }

  /** A job by id; finished ones come from the cache when there is one (they no longer change). */
  async get(id: string): Promise<Job | undefined> {
    const cache = this.options.cache;
    if (!cache) return this.store.getJob(id);
    const cached = await cache.get(id).catch(() => undefined); // a cache that fails is a miss
    if (cached) return cached;
    const job = await this.store.getJob(id);
    if (job && isTerminal(job.state)) await cache.put([job]).catch(() => {});
    return job;
  }

  list(filter: JobFilter, limit: number, after?: string): Promise<JobPage> {
    return this.store.listJobs(filter, limit, after);
  }

  /** Takes up to `max` ready jobs, in priority order, under fresh lease tokens. */
  async claim(opts: ClaimOptions): Promise<Job[]> {
    const deadline = this.clock.now() + (opts.waitMs ?? 0);
    for (;;) {
      const queues = this.paused.size === 0 ? opts.queues : opts.queues.filter((q) => !this.paused.has(q));
      const jobs = queues.length === 0 ? [] : await this.claimNow({ ...opts, queues });
      const left = deadline - this.clock.now();
      if (jobs.length > 0 || left <= 0 || opts.signal?.aborted) return jobs;
      // A resume must end the wait too: the resumed queue may hold jobs already.
      const signal = opts.signal ? AbortSignal.any([opts.signal, this.resumed.signal]) : this.resumed.signal;
      await this.dispatch.waitForWork(queues, left, signal, opts.range, opts.filter);
    }
  }

  /** Queues with their job counts per state, for one tenant or (null) all. */
  async queues(tenant: string | null): Promise<(QueueDepth & { paused: boolean })[]> {
    const depths = await this.store.countByQueue(tenant === null ? {} : { tenant });
    // A tenant sees the queues its jobs are in, not other tenants' (paused, empty for it) queues.
    const visible = tenant === null ? depths : depths.filter((d) => Object.values(d.counts).some((n) => n > 0));
    return visible.map((d) => ({ ...d, paused: this.paused.has(d.queue) }));
  }

  /**
   * Each visible queue's depth with its recent activity: `slots` slots of `bucketMs`, the last one
   * the slot now is in (slots start on whole multiples of `bucketMs`, so charts do not shift).
   */
  async queueStats(tenant: string | null, slots: number, bucketMs: number): Promise<{ now: number; since: number; queues: (QueueDepth & QueueActivity & { paused: boolean })[] }> {
    const now = this.clock.now();
    const since = Math.floor(now / bucketMs) * bucketMs - (slots - 1) * bucketMs;
    const depths = await this.queues(tenant);
    const names = depths.map((d) => d.queue);
    const rows = await this.store.queueActivity(tenant === null ? { queues: names } : { tenant, queues: names }, since, bucketMs);
    const activity = activityOf(rows, names, since, bucketMs, slots);
    return { now, since, queues: depths.map((d, i) => ({ ...d, ...activity[i]! })) };
  }

  /** Pauses or resumes a queue. A paused queue hands out no job; submits are still accepted. */
  async setPaused(queue: string, paused: boolean): Promise<void> {
    await this.store.setQueuePaused(queue, paused, this.clock.now());
    this.pauseVersion++;
    this.applyPaused(paused ? new Set([...this.paused, queue]) : new Set([...this.paused].filter((q) => q !== queue)));
  }

  /** Reloads which queues are paused (another process may have changed it). */
  async refreshPaused(): Promise<void> {
    const version = this.pauseVersion;
    const paused = await this.store.pausedQueues();
    // A pause or resume made here while the read was in flight is newer than what was read.
    if (version === this.pauseVersion) this.applyPaused(new Set(paused));
  }

  isPaused(queue: string): boolean {
    return this.paused.has(queue);
  }

  private applyPaused(next: Set<string>): void {
    const resumedAny = [...this.paused].some((q) => !next.has(q));
    this.paused = next;
    if (resumedAny) {
      this.resumed.abort();
      this.resumed = new AbortController();
    }
  }

  /** Marks a running job succeeded. Writes are batched: concurrent completions share a transaction. */
  async complete(id: string, leaseToken: string, result?: Json): Promise<CompletionResult> {
    if (result !== undefined) {
      const size = Buffer.byteLength(JSON.stringify(result) ?? '');
      if (size > this.options.limits.maxPayloadBytes) throw new PayloadTooLargeError('/result', size, this.options.limits.maxPayloadBytes);
    }
    return this.completer.add({ id, leaseToken, result });
  }

  /**
   * Records a failed attempt. Classified first (domain/recovery/classify.ts): a permanent error
   * fails the job for good; a transient one parks it under its condition; otherwise it retries after
   * backoff while attempts are left, and fails for good when none are.
   */
  async fail(id: string, leaseToken: string, report: FailureReport): Promise<TransitionResult> {
    const job = await this.store.getJob(id);
    if (!job) return { ok: false, reason: 'not_found' };
    if (job.state !== 'running') return { ok: false, reason: 'wrong_state', state: job.state };
    if (job.leaseToken !== leaseToken) return { ok: false, reason: 'lease_mismatch', state: job.state };
    const now = this.clock.now();
    const error: JobError = { message: clip(report.message), attempt: job.attempt, at: now, ...(report.code ? { code: report.code } : {}) };
    const outcome = classify(report, job, this.options.recovery.rules);
    if (outcome.kind === 'transient') return this.park(job, leaseToken, outcome.condition!, error, now);
    const retry = outcome.kind === 'retryable' && job.attempt < job.maxAttempts;
    const runAt = now + backoffDelay(job.backoff, job.attempt, this.options.random);
    const to: JobState = retry ? 'retrying' : 'failed';
    const patch = retry
      ? { error, runAt, leaseExpiresAt: null, stateReason: report.code ?? 'error' }
      : { error, leaseExpiresAt: null, finishedAt: now, stateReason: outcome.kind === 'permanent' ? 'permanent_error' : 'attempts_exhausted' };
    const [res] = await this.changeJobs([{ id, from: ['running'], leaseToken, to, patch, now }]);
    if (res!.ok) {
      if (retry) await this.dispatch.schedule([toDispatchEntry(res!.job)]);
      this.emit(res!.job, 'running', to, now);
    }
    return res!;
  }

  /**
   * Parks a running job under a recovery condition: it waits in `blocked` with every other job that
   * hit the same condition until the recovery loop releases it. The failed attempt does not count:
   * the condition, not the job, is at fault.
   */
  private async park(job: Job, leaseToken: string, condition: string, error: JobError, now: number): Promise<TransitionResult> {
    // Gate first: claims made while this park is being written already hold such jobs back.
    this.gates.set(gateKey(job), condition);
    const policy = policyFor(condition, this.options.recovery.policies);
    const record = await this.store.recordConditionFailure(condition, error.message, now, now + probeDelayMs(policy, 0));
    if (record.failures === 1) this.recoveryEvents.emit({ type: 'opened', condition, at: now });
    const patch = { error, condition, blockedAt: now, attempt: Math.max(0, job.attempt - 1), leaseExpiresAt: null, stateReason: 'parked' };
    const [res] = await this.changeJobs([{ id: job.id, from: ['running'], leaseToken, to: 'blocked', patch, now }]);
    if (res!.ok) this.emit(res!.job, 'running', 'blocked', now);
    return res!;
  }

  /**
   * Reloads the gates: while a condition is not closed, jobs of the queues and types parked under
   * it do not run when claimed but join the parked ones (so a downstream that is down sees only the
   * probes, and after it recovers only the throttled release). Jobs the condition itself released
   * (their `condition` names it) pass.
   */
  async refreshGates(): Promise<void> {
    const open = new Set((await this.store.listConditions()).map((c) => c.key));
    const next = new Map<string, string>();
    for (const p of await this.store.parkedScopes()) if (open.has(p.condition)) next.set(gateKey(p), p.condition);
    this.gates = next;
  }

  /** Claimed jobs that a gate holds back are parked at once, without running; the rest are returned. */
  private async passGates(jobs: Job[], now: number): Promise<Job[]> {
    const held = jobs.filter((j) => {
      const condition = this.gates.get(gateKey(j));
      return condition !== undefined && j.condition !== condition;
    });
    if (held.length === 0) return jobs;
    const results = await this.changeJobs(
      held.map((j) => {
        const condition = this.gates.get(gateKey(j))!;
        return {
          id: j.id,
          from: ['running'] as const,
          leaseToken: j.leaseToken!,
          to: 'blocked' as const,
          patch: { condition, blockedAt: now, attempt: Math.max(0, j.attempt - 1), leaseExpiresAt: null, stateReason: 'gated' },
          now,
        };
      }),
    );
    results.forEach((r) => {
      if (r.ok) this.emit(r.job, 'running', 'blocked', now);
    });
    const parked = new Set(held.map((j) => j.id));
    return jobs.filter((j) => !parked.has(j.id));
  }

  /** The recovery policy that covers a condition key. */
  policyFor(condition: string): RecoveryPolicy {
    return policyFor(condition, this.options.recovery.policies);
  }

  /**
   * Puts parked jobs back in the queue (blocked -> ready), keeping their attempt count. `reason`
   * becomes their stateReason (`probe`, `released`). They keep their `condition`: it lets them
   * through the condition's gate.
   */
  async releaseParked(jobs: readonly Job[], reason: string): Promise<Job[]> {
    const now = this.clock.now();
    const results = await this.applyTransitions(
      jobs.map((j) => ({ id: j.id, from: ['blocked'] as const, to: 'ready' as const, patch: { blockedAt: null, runAt: now, stateReason: reason }, now })),
    );
    return results.flatMap((r) => (r.ok ? [r.job] : []));
  }

  /** Fails parked jobs for good (the dead-letter set), with the condition as the reason. */
  async abandonParked(jobs: readonly Job[], message: string): Promise<number> {
    const now = this.clock.now();
    const results = await this.applyTransitions(
      jobs.map((j) => ({
        id: j.id,
        from: ['blocked'] as const,
        to: 'failed' as const,
        patch: { error: { message, code: 'condition_abandoned', attempt: j.attempt, at: now }, stateReason: `condition:${j.condition ?? 'unknown'}`, finishedAt: now },
        now,
      })),
    );
    return results.filter((r) => r.ok).length;
  }

  /**
   * Dead letters back to the queue as new attempts: failed -> ready with a fresh attempt budget
   * (attempt 0; the error history is kept). Returns the jobs requeued.
   */
  async requeue(jobs: readonly Job[]): Promise<Job[]> {
    const now = this.clock.now();
    const results = await this.applyTransitions(
      jobs.map((j) => ({
        id: j.id,
        from: ['failed'] as const,
        to: 'ready' as const,
        patch: { attempt: 0, runAt: now, finishedAt: null, startedAt: null, workerId: null, stateReason: 'requeued' },
        now,
      })),
    );
    const requeued = results.flatMap((r) => (r.ok ? [r.job] : []));
    await this.options.cache?.evict(requeued.map((j) => j.id)).catch(() => {});
    return requeued;
  }

  /** Deletes finished jobs (purge, retention). */
  async purge(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const n = await this.store.deleteJobs(ids);
    await this.options.cache?.evict(ids).catch(() => {});
    return n;
  }

  /**
   * Cancels a job that has not finished. A running job's worker hears it through the lifecycle
   * (in-process) or its next heartbeat (remote) and its AbortSignal fires.
   */
  async cancel(id: string, reason = 'cancelled_by_user'): Promise<TransitionResult> {
    for (let tries = 0; tries < 5; tries++) {
      const job = await this.store.getJob(id);
      if (!job) return { ok: false, reason: 'not_found' };
      if (isTerminal(job.state)) return { ok: false, reason: 'wrong_state', state: job.state };
      const now = this.clock.now();
      const [res] = await this.changeJobs([
        { id, from: [job.state], to: 'cancelled', patch: { stateReason: reason, leaseExpiresAt: null, finishedAt: now }, now },
      ]);
      if (res!.ok) {
        await this.dispatch.remove([id]);
        this.emit(res!.job, job.state, 'cancelled', now);
        if (job.state === 'running') for (const l of this.cancelListeners) l(id);
        return res!;
      }
      // The job moved between the read and the write (claimed, completed): look again.
    }
    const job = await this.store.getJob(id);
    return job ? { ok: false, reason: 'wrong_state', state: job.state } : { ok: false, reason: 'not_found' };
  }

  /** Calls `listener` with the id of every running job that gets cancelled. */
  onRunningCancelled(listener: (jobId: string) => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /**
   * Reports progress of a running job; the lease token proves the caller still holds it. A
   * multi-step job also sends `outputs`, its finished steps' outputs, kept as the job's result so a
   * retry resumes after them (docs/jobs.md#multi-step-jobs); the reply's job carries them.
   */
  async progress(id: string, leaseToken: string, percent: number, message?: string, outputs?: Json[]): Promise<TransitionResult> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new ValidationError([{ path: '/percent', message: `must be a number from 0 to 100 (got ${percent})` }]);
    }
    if (outputs !== undefined) {
      const size = Buffer.byteLength(JSON.stringify(outputs) ?? '');
      if (size > this.options.limits.maxPayloadBytes) throw new PayloadTooLargeError('/outputs', size, this.options.limits.maxPayloadBytes);
    }
    const progress = message === undefined ? { percent } : { percent, message: clip(message) };
    const now = this.clock.now();
    const patch = outputs === undefined ? { progress } : { progress, result: outputs };
    const [res] = await this.changeJobs([{ id, from: ['running'], leaseToken, to: 'running', patch, now }]);
    return res!;
  }

  /**
   * Extends the leases a worker holds. Returns the jobs it no longer holds (it must stop them), and
   * among them those that were cancelled.
   */
  async heartbeat(leases: readonly LeaseExtension[]): Promise<{ lost: string[]; cancelled: string[] }> {
    if (leases.length === 0) return { lost: [], cancelled: [] };
    const now = this.clock.now();
    const lost = await this.store.extendLeases(leases, now + this.options.leaseMs, now);
    const cancelled: string[] = [];
    for (const id of lost) if ((await this.store.getJob(id))?.state === 'cancelled') cancelled.push(id);
    return { lost, cancelled };
  }

  /**
   * Gives running jobs back to the queue because their worker is gone (lease ran out, or the worker
   * was marked lost): the attempt counts, and on the last attempt the job fails.
   */
  async returnToQueue(jobs: readonly Job[], code: string, message: string): Promise<number> {
    if (jobs.length === 0) return 0;
    const now = this.clock.now();
    const results = await this.applyTransitions(
      jobs.map((j) => {
        const error = { message, code, attempt: j.attempt, at: now };
        const last = j.attempt >= j.maxAttempts;
        return {
          id: j.id,
          from: ['running'] as const,
          leaseToken: j.leaseToken!,
          to: last ? ('failed' as const) : ('ready' as const),
          patch: last ? { error, stateReason: code, leaseExpiresAt: null, finishedAt: now } : { error, stateReason: code, leaseExpiresAt: null },
          now,
        };
      }),
    );
    return results.filter((r) => r.ok).length;
  }

  /** The running jobs a worker holds, all of them. */
  async runningJobsOf(workerId: string): Promise<Job[]> {
    const jobs: Job[] = [];
    let after: string | undefined;
    do {
      const page = await this.store.listJobs({ state: 'running', workerId }, 500, after);
      jobs.push(...page.jobs);
      after = page.nextCursor ?? undefined;
    } while (after);
    return jobs;
  }

  /**
   * Gives a running job back without counting the attempt (graceful shutdown of its worker).
   */
  async release(id: string, leaseToken: string): Promise<TransitionResult> {
    const job = await this.store.getJob(id);
    if (!job) return { ok: false, reason: 'not_found' };
    const now = this.clock.now();
    const [res] = await this.changeJobs([
      {
        id,
        from: ['running'],
        leaseToken,
        to: 'ready',
        patch: { attempt: Math.max(0, job.attempt - 1), leaseExpiresAt: null, stateReason: 'released_by_worker' },
        now,
      },
    ]);
    if (res!.ok) {
      await this.dispatch.enqueue([toDispatchEntry(res!.job)]);
      this.emit(res!.job, 'running', 'ready', now);
    }
    return res!;
  }

  /**
   * Writes guarded moves; jobs that stopped running free their slot in a capped queue (the
   * dispatch counts them per tenant).
   */
  private async changeJobs(requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
    const results = await this.store.transition(requests);
    const stopped = this.fairness
      ? results.flatMap((r) => (r.ok && r.from === 'running' && r.job.state !== 'running' && this.fairness!.capped(r.job.queue) ? [r.job] : []))
      : [];
    if (stopped.length > 0) await this.releaseSlots(stopped);
    return results;
  }

  /** Frees the running slots of jobs of capped queues (see changeJobs, completeBatch, claimNow). */
  private async releaseSlots(jobs: readonly { id: string; queue: string; tenant: string }[]): Promise<void> {
    for (const j of jobs) this.capped.delete(j.id);
    await this.dispatch.release(jobs).catch(() => {}); // a lost release is corrected by the running sweep
  }

  /**
   * Applies guarded moves decided by maintenance loops and enqueues or forgets the jobs in the
   * dispatch index to match. Illegal moves are refused before anything is written.
   */
  async applyTransitions(requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
    for (const r of requests) {
      for (const from of r.from) {
        if (!TRANSITIONS[from][r.to]) throw new Error(`illegal transition ${from} -> ${r.to} for job ${r.id}`);
      }
    }
    const results = await this.changeJobs(requests);
    const ready = results.flatMap((r) => (r.ok && r.job.state === 'ready' ? [toDispatchEntry(r.job)] : []));
    const delayed = results.flatMap((r) => (r.ok && (r.job.state === 'retrying' || r.job.state === 'scheduled') ? [toDispatchEntry(r.job)] : []));
    const gone = results.flatMap((r) => (r.ok && isTerminal(r.job.state) ? [r.job.id] : []));
    if (gone.length > 0) await this.dispatch.remove(gone);
    if (delayed.length > 0) await this.dispatch.schedule(delayed);
    if (ready.length > 0) await this.dispatch.enqueue(ready);
    if (this.lifecycle.active) {
      results.forEach((r, i) => {
        if (r.ok) this.emit(r.job, r.from, r.job.state, requests[i]!.now);
      });
    }
    return results;
  }

  /** Loads every dispatchable job from the store into the dispatch index (start-up, after a crash). */
  async rebuildDispatch(): Promise<number> {
    await this.refreshPaused();
    let n = 0;
    let ready: ReturnType<typeof toDispatchEntry>[] = [];
    let delayed: ReturnType<typeof toDispatchEntry>[] = [];
    const flush = async () => {
      if (delayed.length > 0) await this.dispatch.schedule(delayed);
      if (ready.length > 0) await this.dispatch.enqueue(ready);
      ready = [];
      delayed = [];
    };
    for await (const { entry, state } of this.store.loadDispatchable()) {
      (state === 'ready' ? ready : delayed).push(entry);
      if (++n % 10_000 === 0) await flush();
    }
    await flush();
    return n;
  }

  /** Waits for batched writes still in flight (shutdown). */
  drain(): Promise<void> {
    return this.completer.drain();
  }

  private async claimNow(opts: ClaimOptions): Promise<Job[]> {
    for (;;) {
      const entries = await this.dispatch.take({ queues: opts.queues, max: opts.max, ...(opts.range ? { range: opts.range } : {}), ...(opts.filter ? { filter: opts.filter } : {}) });
      if (entries.length === 0) return [];
      const now = this.clock.now();
      const claims = entries.map((e) => ({ id: e.id, leaseToken: randomUUID() }));
      const { claimed, expired } = await this.store.claimJobs(claims, opts.workerId, now + this.options.leaseMs, now);
      if (this.fairness) await this.holdSlots(entries, claimed);
      if (this.lifecycle.active) {
        for (const job of expired) this.emit(job, 'ready', 'expired', now);
        for (const job of claimed) this.emit(job, 'ready', 'running', now);
      }
      const passed = this.gates.size === 0 ? claimed : await this.passGates(claimed, now);
      // Everything taken had expired, was no longer ready, or was held by a gate: take again
      // rather than answer "nothing" while live jobs wait behind them. Each take removes entries, so this ends.
      if (passed.length > 0) return passed;
    }
  }

  /** Capped entries taken: the claimed ones hold a slot until they stop, the others free it now. */
  private async holdSlots(entries: readonly DispatchEntry[], claimed: readonly Job[]): Promise<void> {
    const running = new Set(claimed.map((j) => j.id));
    const unclaimed: DispatchEntry[] = [];
    for (const e of entries) {
      if (!this.fairness!.capped(e.queue)) continue;
      if (running.has(e.id)) this.capped.set(e.id, { id: e.id, queue: e.queue, tenant: e.tenant });
      else unclaimed.push(e);
    }
    if (this.capped.size > 1_000_000) this.capped.clear(); // finished elsewhere and never seen here: the sweep corrects
    if (unclaimed.length > 0) await this.releaseSlots(unclaimed);
  }

  private async completeBatch(items: Completion[]): Promise<CompletionResult[]> {
    const now = this.clock.now();
    const results = await this.store.completeJobs(items, now);
    if (this.capped.size > 0) {
      const done = items.flatMap((c, i) => (results[i]!.ok && this.capped.has(c.id) ? [this.capped.get(c.id)!] : []));
      if (done.length > 0) await this.releaseSlots(done);
    }
    if (this.lifecycle.active) {
      for (let i = 0; i < items.length; i++) {
        const job = results[i]!.ok ? await this.store.getJob(items[i]!.id) : undefined;
        if (job) this.emit(job, 'running', 'succeeded', now);
      }
    }
    return results;
  }

  private emit(job: Job, from: JobState | null, to: JobState, at: number): void {
    if (!this.lifecycle.active) return;
    const cause = from === null ? 'submitted' : (TRANSITIONS[from][to] ?? 'submitted');
    this.lifecycle.emit({ job, from, to, cause, at });
  }
}

/**
 * Error and progress messages are kept to a readable size: a stack trace must not stop a failure
 * being recorded, and every lifecycle event carrying one must fit in a Kafka record.
 */
const MAX_MESSAGE = 10_000;
function clip(message: string): string {
  return message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters cut)`;
}

function gateKey(j: { queue: string; type: string }): string {
  return `${j.queue}\u0000${j.type}`;
}

function replay(record: IdempotencyRecord, once: IdempotentSubmit): IdempotentReply {
  if (record.requestHash !== once.requestHash) throw new IdempotencyConflictError(once.key);
  return { status: record.status, response: record.response, replayed: true };
}

/** The job as just inserted, without reading it back. */
function newJobView(r: NewJob, payload: Json): Job {
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

