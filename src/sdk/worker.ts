import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { SystemClock } from '../adapters/clock/system-clock.js';
import type { Json } from '../domain/job.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { ClaimFilter } from '../ports/dispatch.js';
import { CancelledError, LeaseLostError, PermanentError, ShutdownError, TimeoutError, TransientError } from './errors.js';
import { parsePools, type Concurrency, type Pool } from './pools.js';
import { runSteps, stepsOf, type StepInfo } from './steps.js';
import { capturingLogger, LogBuffer } from './job-log.js';
import type { LogLevelName } from '../domain/job-log.js';
import type { Ack, ClaimedJob, DependencyState, FailureReport, WorkerTransport } from './transport.js';
import { startAttempt, type Attempt, type AttemptOutcome } from '../tracing/spans.js';

export interface HandlerContext {
  /** Fires on cancel, timeout, lease loss and shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** Reports progress (0-100) with an optional message. */
  progress(percent: number, message?: string): Promise<void>;
  /**
   * The jobs this one waited for (`dependsOn`), with their state and result, in id order; empty
   * for a job without dependencies (docs/dependencies.md). Read once per attempt, on first call.
   */
  dependencies(): Promise<DependencyState[]>;
  /**
   * The worker's logger, bound to the job. Each line it writes is also kept as the job's log
   * (docs/logs.md: `GET /v1/jobs/{id}/logs`, `docket logs`, the dashboard), when the transport can send it.
   */
  log: Logger;
  /** Set for a step of a multi-step job (docs/jobs.md#multi-step-jobs): its place and the outputs before it. */
  step?: StepInfo;
}

/**
 * Runs one job; its return value is the job's result, a throw fails the attempt. `P` types
 * `job.payload` and `R` the result, as BullMQ's `Processor<Data, Result>`:
 * `const send: Handler<{ to: string }, { sent: boolean }> = async (job) => ({ sent: !!job.payload.to })`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler<P = any, R = Json> = (job: ClaimedJob<P>, ctx: HandlerContext) => Promise<R | void> | R | void;

/** What a Worker emits, with the arguments its listeners get. */
export interface WorkerEvents {
  /** A handler started on a job. */
  started: [job: ClaimedJob];
  /** A job's handler returned, and the result was reported. */
  completed: [job: ClaimedJob, result: Json | undefined];
  /** A job's attempt failed (it retries, parks or fails for good as its policy says), and that was reported. */
  failed: [job: ClaimedJob, failure: FailureReport];
  /** Worker trouble (a lost connection, a report that did not go through); it is logged too. */
  error: [error: Error];
}

export interface WorkerOptions {
  transport: WorkerTransport;
  /** Job types this worker runs, by type name. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handlers: Record<string, Handler<any, any>>;
  /** @defaultValue ["default"] */
  queues?: string[];
  /** Slots, or slots per priority range: `{ "1-3": 16, "4-7": 6, "8-10": 2 }`. @defaultValue 10 */
  concurrency?: Concurrency;
  /** When a pool's range has nothing ready, take other work rather than idle. @defaultValue true */
  borrow?: boolean;
  /**
   * Insights: claim only jobs of these types and/or carrying these labels, in the same priority
   * and fairness order (`{ types: ['mediaInfo'] }`). @defaultValue every job of the queues
   */
  filter?: ClaimFilter;
  /** Shown in `docket workers` and the API's worker list. @defaultValue none */
  name?: string;
  /** How often leases are extended; keep it well under the server's lease time. @defaultValue 10 000 ms */
  heartbeatMs?: number;
  /** Longest long-poll when idle; a new job wakes the worker sooner. @defaultValue 30 000 ms */
  pollWaitMs?: number;
  /** Where the worker logs. @defaultValue pino at level info, JSON to stdout */
  logger?: Logger;
  /**
   * Lines a handler writes through `ctx.log` at this level or above are kept as the job's log
   * (docs/logs.md), whatever level `logger` prints at. Lower: more detail kept, at that much more
   * storage. @defaultValue 'info'
   */
  jobLogLevel?: LogLevelName;
  /**
   * Where worker trouble goes (a claim, heartbeat or outcome report that failed), with what failed.
   * `docket server` passes its outage log, so an engine outage is logged once, not at every retry.
   * @defaultValue logged at error level on `logger`, every time
   */
  onError?: (err: unknown, what: string) => void;
  /** Injected by tests. @defaultValue the system clock */
  clock?: Clock;
}

interface Running {
  job: ClaimedJob;
  pool: PoolState;
  /** The job's AbortController, made on first use (ctx.signal or an abort). */
  controller: () => AbortController;
  /** The outcome was reported, or must not be (cancelled, lease lost). */
  done: boolean;
  settled: Promise<void>;
  /** The attempt's process span (docs/tracing.md); a no-op when tracing is off. */
  attempt: Attempt;
  /** Why the handler was stopped without a report (cancel, lease loss, shutdown): how its span ends. */
  stopped: AttemptOutcome | null;
  reported: boolean;
  /** The job's log lines on their way, made when the handler first logs. */
  logs?: LogBuffer;
}

interface PoolState extends Pool {
  active: number;
  started: number;
  wake: (() => void) | null;
}

/**
 * Runs handlers for jobs claimed through a transport, in-process or remote, with the same lease
 * semantics: heartbeats extend leases, a lost lease or a cancel aborts the handler, a timeout
 * fails the attempt. Events: `started`, `completed`, `failed` (job), `error` (worker trouble).
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly pools: PoolState[];
  private readonly running = new Map<string, Running>();
  private readonly queues: string[];
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  private heartbeatTimer: TimerHandle | null = null;
  /**
   * Clock timers are unref'd and a handler may await nothing the event loop sees, so a started
   * worker holds the process open itself until close(): otherwise a worker process exits with 0
   * while it holds jobs (all slots busy) or while its server is briefly unreachable.
   */
  private keepAlive: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private workerId = '';

  constructor(private readonly options: WorkerOptions) {
    super();
    this.queues = options.queues ?? ['default'];
    this.pools = parsePools(options.concurrency ?? 10).map((p) => ({ ...p, active: 0, started: 0, wake: null }));
    this.log = options.logger ?? pino({ level: 'info' });
    this.clock = options.clock ?? new SystemClock();
    this.on('error', () => {}); // worker trouble is logged; an unheard 'error' must not crash the host
  }

  get id(): string {
    return this.workerId;
  }

  /** Jobs running right now. */
  get activeCount(): number {
    return this.running.size;
  }

  async start(): Promise<this> {
    const capacity = this.pools.reduce((n, p) => n + p.slots, 0);
    this.workerId = await this.options.transport.register({ queues: this.queues, capacity, ...(this.options.name ? { name: this.options.name } : {}) });
    this.unsubscribe = this.options.transport.onCancel((id) => this.abort(id, new CancelledError()));
    this.keepAlive = setInterval(() => {}, 1 << 30);
    this.loops = this.pools.map((p) => this.runPool(p));
    this.scheduleHeartbeat();
    return this;
  }

  /**
   * Stops claiming, lets running jobs finish for up to `graceMs`, then aborts the rest and gives
   * them back to the queue without counting the attempt.
   */
  async close(graceMs = 10_000): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    for (const p of this.pools) p.wake?.();
    await Promise.all(this.loops);
    const all = () => Promise.all([...this.running.values()].map((r) => r.settled));
    let timer: TimerHandle | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (timer = this.clock.setTimer(() => resolve('timeout'), graceMs)));
    if ((await Promise.race([all(), graceOver])) === 'timeout') {
      await Promise.all(
        [...this.running.values()].map(async (r) => {
          if (r.done) return;
          r.done = true;
          this.signalAbort(r, new ShutdownError());
          await this.options.transport.release(r.job).catch((err) => this.trouble('release failed', err));
        }),
      );
    }
    timer?.cancel();
    this.heartbeatTimer?.cancel();
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.unsubscribe?.();
    await this.options.transport.unregister(this.workerId).catch(() => {});
  }

  private async runPool(pool: PoolState): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      const free = pool.slots - pool.active;
      // Claim in batches: wait until a quarter of the slots are free (or all are, when idle).
      if (free < (pool.active === 0 ? 1 : Math.max(1, Math.floor(pool.slots / 4)))) {
        await new Promise<void>((resolve) => (pool.wake = resolve));
        pool.wake = null;
        continue;
      }
      try {
        let jobs = await this.claim(pool, free, true, 0);
        if (jobs.length === 0 && pool.range && this.options.borrow !== false) jobs = await this.claim(pool, free, false, 0);
        if (jobs.length === 0) jobs = await this.claim(pool, free, this.options.borrow === false, this.options.pollWaitMs ?? 30_000);
        for (const job of jobs) this.execute(pool, job);
      } catch (err) {
        if (stop.aborted) break;
        this.trouble('claim failed; retrying in 1 s', err);
        await new Promise<void>((resolve) => this.clock.setTimer(resolve, 1000));
      }
    }
  }

  private claim(pool: PoolState, max: number, ownRange: boolean, waitMs: number): Promise<ClaimedJob[]> {
    return this.options.transport.claim({
      workerId: this.workerId,
      queues: this.queues,
      max,
      waitMs,
      signal: this.stopping.signal,
      ...(ownRange && pool.range ? { range: pool.range } : {}),
      ...(this.options.filter ? { filter: this.options.filter } : {}),
    });
  }

  private execute(pool: PoolState, job: ClaimedJob): void {
    pool.active++;
    pool.started++;
    // The controller and the child logger are made on first use: most handlers never touch them,
    // and at 30k+ jobs/s their cost showed in profiles.
    let made: AbortController | null = null;
    const controller = () => (made ??= new AbortController());
    const attempt = startAttempt(job, this.workerId, this.clock.now());
    const entry: Running = { job, pool, controller, done: false, settled: Promise.resolve(), attempt, stopped: null, reported: false };
    this.running.set(job.id, entry);
    this.emit('started', job);
    const timeout = job.timeoutMs
      ? this.clock.setTimer(() => {
          const err = new TimeoutError(job.timeoutMs!);
          this.signalAbort(entry, err);
          if (!entry.done) attempt.error(err, err.code);
          this.report(entry, new FailureMark(err.message, err.code));
        }, job.timeoutMs)
      : null;
    let log: Logger | null = null;
    let dependencies: Promise<DependencyState[]> | undefined;
    const ctx: HandlerContext = {
      get signal() {
        return controller().signal;
      },
      get log() {
        return (log ??= jobLogger());
      },
      progress: async (percent, message) => {
        const ack = await this.options.transport.progress(job, percent, message);
        if (!ack.ok) this.abort(job.id, new LeaseLostError());
      },
      dependencies: () => {
        const transport = this.options.transport;
        if (!transport.dependencies) return Promise.reject(new Error('this worker transport cannot read dependencies'));
        return (dependencies ??= transport.dependencies(job));
      },
    };
    const rootLog = this.log;
    const jobLogger = (): Logger => {
      const child = rootLog.child({ jobId: job.id, type: job.type, attempt: job.attempt });
      const transport = this.options.transport;
      if (!transport.logs) return child;
      const buffer = (entry.logs = new LogBuffer({ send: (lines) => transport.logs!(job, lines), clock: this.clock, onError: (err) => this.trouble(`could not send the log lines of job ${job.id}`, err) }));
      return capturingLogger(child, this.options.jobLogLevel ?? 'info', (line) => buffer.push(line), () => this.clock.now());
    };
    const steps = stepsOf(job.payload);
    const handler: Handler | undefined = steps
      ? (j, c) => runSteps(j, steps, this.options.handlers, c, this.options.transport, () => this.abort(job.id, new LeaseLostError()))
      : this.options.handlers[job.type];
    entry.settled = (async () => {
      try {
        if (!handler) throw new PermanentError(`no handler for job type "${job.type}" on worker ${this.options.name ?? this.workerId}`, 'no_handler');
        const result = await attempt.run(() => handler(job, ctx));
        this.report(entry, result === undefined ? undefined : (result as Json));
      } catch (err) {
        const failure = toFailure(err);
        if (!entry.done) attempt.error(err, failure.code);
        this.report(entry, failure);
      } finally {
        if (!entry.reported) attempt.end(entry.stopped ?? 'cancelled');
        timeout?.cancel();
        this.running.delete(job.id);
        pool.active--;
        pool.wake?.();
      }
    })();
  }

  /** Sends the outcome once; a failure report is an object with `message`. */
  private report(entry: Running, outcome: Json | undefined | FailureReport): void {
    if (entry.done) return;
    entry.done = true;
    entry.reported = true;
    const { job, attempt } = entry;
    const failed = isFailure(outcome);
    const transport = this.options.transport;
    const sendOutcome = () => (failed ? transport.fail(job, outcome) : transport.complete(job, outcome as Json | undefined));
    // A job's lines are sent before its outcome, so a finished job's log is complete.
    const send = entry.logs ? entry.logs.flush().then(sendOutcome) : sendOutcome();
    send.then(
      (ack) => {
        if (!ack.ok) this.log.warn({ jobId: job.id, reason: ack.reason }, 'outcome not recorded: the job is no longer held by this worker');
        attempt.end(settledOutcome(attempt, failed, ack));
        if (failed) this.emit('failed', job, outcome);
        else this.emit('completed', job, outcome as Json | undefined);
      },
      (err) => {
        attempt.event('docket.job.report_failed', { 'exception.message': (err as Error)?.message ?? String(err) });
        attempt.end('not_recorded');
        this.trouble(`could not report the outcome of job ${job.id}`, err);
      },
    );
  }

  private abort(jobId: string, reason: Error): void {
    const entry = this.running.get(jobId);
    if (!entry || entry.done) return;
    entry.done = true;
    this.signalAbort(entry, reason);
  }

  private signalAbort(entry: Running, reason: Error): void {
    const stopped = stoppedBy(reason);
    if (stopped && !entry.reported && entry.stopped === null) {
      entry.stopped = stopped;
      entry.attempt.event(`docket.job.${stopped}`);
    }
    entry.controller().abort(reason);
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.clock.setTimer(async () => {
      if (this.stopping.signal.aborted && this.running.size === 0) return;
      const held = [...this.running.values()].filter((r) => !r.done).map((r) => r.job);
      try {
        const { lost, cancelled = [] } = await this.options.transport.heartbeat(this.workerId, held);
        for (const id of lost) this.abort(id, cancelled.includes(id) ? new CancelledError() : new LeaseLostError());
      } catch (err) {
        this.trouble('heartbeat failed', err);
      }
      this.scheduleHeartbeat();
    }, this.options.heartbeatMs ?? 10_000);
  }

  private trouble(message: string, err: unknown): void {
    if (this.options.onError) this.options.onError(err, message);
    else this.log.error({ err }, message);
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}

/** How a handler stopped by the worker ends its span (a timeout is reported as a failure instead). */
function stoppedBy(reason: Error): AttemptOutcome | null {
  if (reason instanceof CancelledError) return 'cancelled';
  if (reason instanceof LeaseLostError) return 'lease_lost';
  if (reason instanceof ShutdownError) return 'released';
  return null;
}

/**
 * What the report did, on the attempt's span: a retry, a park or a failure for good as an event
 * (with when the next attempt is due, or the condition), and as the span's outcome.
 */
function settledOutcome(attempt: Attempt, failed: boolean, ack: Ack): AttemptOutcome {
  if (!ack.ok) {
    attempt.event('docket.job.outcome_refused', { 'docket.reason': ack.reason ?? 'unknown' });
    return 'not_recorded';
  }
  if (!failed) return 'succeeded';
  const job = ack.job;
  if (!job) return 'error';
  if (job.state === 'retrying') {
    attempt.event('docket.job.retry', { 'docket.job.next_attempt': job.attempt + 1, 'docket.job.next_attempt_at': new Date(job.runAt).toISOString() });
    return 'retrying';
  }
  if (job.state === 'blocked') {
    attempt.event('docket.job.parked', { 'docket.recovery.condition': job.condition ?? '' });
    return 'blocked';
  }
  if (job.state === 'failed') attempt.event('docket.job.failed', { 'docket.job.state_reason': job.stateReason ?? '' });
  return job.state === 'failed' || job.state === 'expired' ? job.state : 'error';
}

function isFailure(outcome: unknown): outcome is FailureReport {
  return outcome instanceof FailureMark;
}

/** Wraps a failure so it cannot be confused with a handler result that happens to have `message`. */
class FailureMark implements FailureReport {
  constructor(
    readonly message: string,
    readonly code?: string,
    readonly retryable?: boolean,
    readonly name?: string,
    readonly condition?: string,
  ) {}
}

function toFailure(err: unknown): FailureReport {
  if (err instanceof PermanentError) return new FailureMark(err.message, err.code, false, err.name);
  if (err instanceof TransientError) return new FailureMark(err.message, err.code, undefined, err.name, err.condition);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return new FailureMark(err.message || err.name, typeof code === 'string' ? code : undefined, undefined, err.name);
  }
  return new FailureMark(String(err));
}
