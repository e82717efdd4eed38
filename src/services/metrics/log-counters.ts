import { Counter, Histogram, type Metric } from 'prom-client';
import type { Clock } from '../../ports/clock.js';
import type { EventLog, LogEvent } from '../../ports/event-log.js';
import { Periodic } from '../maintenance/periodic.js';

/** Job events counted, by the counter's name (`docket_jobs_<name>_total`). */
const JOB_COUNTERS: Record<string, string> = {
  submitted: 'submitted',
  started: 'started',
  succeeded: 'succeeded',
  failed: 'failed',
  retrying: 'retried',
  expired: 'expired',
  cancelled: 'cancelled',
  deduplicated: 'deduplicated',
  blocked: 'blocked',
};
/** Most queues given zero-valued series; past it, a queue's series appear with its first event. */
export const MAX_ZERO_QUEUES = 1000;

/** Outcomes of an attempt that end its run (the run-time histogram's `outcome`). */
const RUN_ENDS: Record<string, string> = { succeeded: 'succeeded', failed: 'failed', retrying: 'failed', blocked: 'failed', cancelled: 'cancelled' };

/** Run times and waits from 5 ms to an hour. */
const RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export interface LogCountersOptions {
  /** Events read per step. @defaultValue 5000 */
  batchSize?: number;
  /** How often the log is read between scrapes. @defaultValue 2000 ms */
  intervalMs?: number;
  /** Start times of running jobs remembered for the run-time histogram. @defaultValue 200,000 */
  maxRunning?: number;
}

/**
 * Cluster-wide job counters and histograms, counted from the event log by the node that serves
 * /metrics (docs/metrics.md). The log holds every change of every process (worker-only ones
 * included), in order and gap-free, so any API node counts the whole cluster without touching the
 * claim and completion path: no per-job work there, no extra store round trip.
 *
 * The reader starts at the first scrape, at the log's end: a node that nobody scrapes reads
 * nothing, and its counters count from its first scrape on (a restart is a counter reset, which
 * Prometheus' rate() and increase() handle). It then follows the log every `intervalMs` and at
 * each scrape. Its cursor is in memory: it does not hold back the log's pruning, and if it ever
 * fell more than the retention behind, the skipped events are counted in
 * docket_metrics_events_missed_total.
 */
export class LogCounters {
  private cursor: number | null = null;
  private reading: Promise<void> | null = null;
  private readonly loop: Periodic;
  private readonly batch: number;
  private readonly maxRunning: number;
  /** jobId → when its running attempt started, for the run time. */
  private readonly running = new Map<string, number>();
  private readonly counters = new Map<string, Counter<'queue'>>();
  private readonly children = new Map<string, { inc(): void }>();
  /** Queues whose counters have their zero-valued series. */
  private readonly zeroed = new Set<string>();
  private readonly runSeconds: Histogram<'queue' | 'outcome'>;
  private readonly waitSeconds: Histogram<'queue'>;
  private readonly leaseExpirations: Counter<'queue'>;
  private readonly workersLost: Counter;
  private readonly alertsFired: Counter<'rule'>;
  private readonly missed: Counter;
  private readonly counted: Counter;

  constructor(
    private readonly log: EventLog,
    private readonly clock: Clock,
    options: LogCountersOptions = {},
    onError: (err: unknown) => void,
  ) {
    this.batch = options.batchSize ?? 5000;
    this.maxRunning = options.maxRunning ?? 200_000;
    this.loop = new Periodic(clock, options.intervalMs ?? 2000, () => this.catchUp(), onError);
    for (const [type, name] of Object.entries(JOB_COUNTERS)) {
      this.counters.set(type, new Counter({ name: `docket_jobs_${name}_total`, help: `Jobs ${name} (docket.job.${type} events), cluster-wide`, labelNames: ['queue'] as const, registers: [] }));
    }
    this.runSeconds = new Histogram({
      name: 'docket_job_run_seconds',
      help: 'Run time of attempts, from start (claim) to end, by outcome: succeeded, failed (failed, retrying, blocked), cancelled',
      labelNames: ['queue', 'outcome'] as const,
      buckets: RUN_BUCKETS,
      registers: [],
    });
    this.waitSeconds = new Histogram({
      name: 'docket_job_wait_seconds',
      help: 'Enqueue-to-start: from when an attempt was due (runAt) to its start',
      labelNames: ['queue'] as const,
      buckets: WAIT_BUCKETS,
      registers: [],
    });
    this.leaseExpirations = new Counter({ name: 'docket_lease_expirations_total', help: 'Running jobs whose lease ran out (their worker stopped heartbeating): back to ready, or failed when no attempt was left', labelNames: ['queue'] as const, registers: [] });
    this.workersLost = new Counter({ name: 'docket_workers_lost_total', help: 'Remote workers marked lost (silent past the heartbeat timeout)', registers: [] });
    this.alertsFired = new Counter({ name: 'docket_alerts_fired_total', help: 'Alerts that fired, by rule', labelNames: ['rule'] as const, registers: [] });
    this.missed = new Counter({ name: 'docket_metrics_events_missed_total', help: 'Events pruned from the log before this node counted them (should stay 0)', registers: [] });
    this.counted = new Counter({ name: 'docket_metrics_events_read_total', help: 'Events of the log this node has counted since its first scrape', registers: [] });
  }

  /** The metrics to serve. */
  all(): Metric[] {
    return [...this.counters.values(), this.runSeconds, this.waitSeconds, this.leaseExpirations, this.workersLost, this.alertsFired, this.missed, this.counted];
  }

  /**
   * Gives each queue named a zero-valued series in every job counter and the lease expirations, so
   * a scrape shows them from the first one on and `rate()`/`increase()` see a queue's first event
   * as an increase from 0 (a series that appears at 1 has no increase). One series per queue and
   * counter; queues come from the store, not from requests, and at most MAX_ZERO_QUEUES are zeroed.
   * `rules` (the configuration's alert rules) get theirs in docket_alerts_fired_total.
   */
  zeroFor(queues: Iterable<string>, rules: Iterable<string> = []): void {
    for (const rule of rules) this.alertsFired.inc({ rule }, 0);
    for (const queue of queues) {
      if (this.zeroed.has(queue) || this.zeroed.size >= MAX_ZERO_QUEUES) continue;
      this.zeroed.add(queue);
      for (const c of this.counters.values()) c.inc({ queue }, 0);
      this.leaseExpirations.inc({ queue }, 0);
    }
  }

  /** Where the reader has got to (null before the first scrape). */
  get position(): number | null {
    return this.cursor;
  }

  /** Reads the log up to its end (the first call only notes where the end is and starts the loop). */
  catchUp(): Promise<void> {
    // One reader at a time: a scrape during a background run waits for that run, then reads on.
    this.reading = (this.reading ?? Promise.resolve()).then(() => this.readAll());
    const done = this.reading;
    void done.finally(() => {
      if (this.reading === done) this.reading = null;
    }).catch(() => {});
    return done;
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private async readAll(): Promise<void> {
    if (this.cursor === null) {
      this.cursor = await this.log.lastPosition();
      this.loop.start();
      return;
    }
    for (;;) {
      const events = await this.log.read(this.cursor, this.batch);
      if (events.length === 0) return;
      const gap = events[0]!.pos - this.cursor - 1;
      if (gap > 0) this.missed.inc(gap);
      for (const e of events) this.count(e);
      this.counted.inc(events.length);
      this.cursor = events[events.length - 1]!.pos;
      if (events.length < this.batch) return;
    }
  }

  private count(e: LogEvent): void {
    if (e.topic === 'job-events') {
      const queue = typeof e.data.queue === 'string' ? e.data.queue : '';
      const counter = this.counters.get(e.type);
      if (counter) this.child(counter, e.type, queue).inc();
      if (e.data.reason === 'lease_expired' && (e.type === 'ready' || e.type === 'failed')) this.child(this.leaseExpirations, 'lease', queue).inc();
      if (e.type === 'started') {
        if (typeof e.data.runAt === 'number') this.waitSeconds.labels(queue).observe(Math.max(0, e.at - e.data.runAt) / 1000);
        this.running.delete(e.key);
        this.running.set(e.key, e.at);
        if (this.running.size > this.maxRunning) this.running.delete(this.running.keys().next().value!);
        return;
      }
      const outcome = RUN_ENDS[e.type] ?? (e.type === 'ready' || e.type === 'expired' ? 'lost' : undefined);
      if (outcome === undefined) return;
      const started = this.running.get(e.key);
      if (started === undefined) return;
      this.running.delete(e.key);
      // A job back to ready from running lost its worker: no run time to report.
      if (outcome !== 'lost') this.runSeconds.labels(queue, outcome).observe(Math.max(0, e.at - started) / 1000);
    } else if (e.topic === 'worker-events') {
      if (e.type === 'heartbeat-lost') this.workersLost.inc();
    } else if (e.topic === 'alert-events') {
      if (e.type === 'firing' && typeof e.data.rule === 'string') this.alertsFired.labels(e.data.rule).inc();
    }
  }

  private child(counter: Counter<'queue'>, name: string, queue: string): { inc(): void } {
    const key = `${name}\u0000${queue}`;
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = counter.labels(queue)));
    return c;
  }
}
