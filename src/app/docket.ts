import { join } from 'node:path';
import { MemoryDispatch } from '../adapters/memory/memory-dispatch.js';
import { MemoryWorkerDirectory } from '../adapters/memory/memory-worker-directory.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { SqliteReadyBacklog } from '../adapters/sqlite/sqlite-ready-backlog.js';
import type { JobLogStore } from '../ports/job-log-store.js';
import type { ScheduleStore } from '../ports/schedule-store.js';
import { ScheduleService } from '../services/schedule-service.js';
import { ScheduleFirer } from '../services/maintenance/schedule-firer.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import type { Clock } from '../ports/clock.js';
import type { Dispatch, FairnessPolicy } from '../ports/dispatch.js';
import type { Store } from '../ports/store.js';
import type { WorkerDirectory } from '../ports/worker-directory.js';
import { Jobs } from '../services/jobs/index.js';
import { TemplateService } from '../services/template-service.js';
import type { TemplateStore } from '../ports/template-store.js';
import { DEFAULT_INPUT_LIMITS } from '../domain/job-input.js';
import { Expirer } from '../services/maintenance/expirer.js';
import { LeaseReaper } from '../services/maintenance/lease-reaper.js';
import { Promoter } from '../services/maintenance/promoter.js';
import { Housekeeper } from '../services/maintenance/housekeeper.js';
import { WorkerMonitor } from '../services/maintenance/worker-monitor.js';
import { DispatchRepair } from '../services/maintenance/dispatch-repair.js';
import { Pruner } from '../services/maintenance/pruner.js';
import { RecoveryLoop } from '../services/maintenance/recovery-loop.js';
import { RecoveryOps } from '../services/recovery-ops.js';
import { compileRules } from '../domain/recovery/classify.js';
import { DEFAULT_ALERT_INTERVAL_MS, EMPTY_FILE_CONFIG, resolveLoops, type FileConfig, type LoopIntervals } from '../config/index.js';
import { SoloLeadership } from '../adapters/memory/solo-leadership.js';
import type { Leadership } from '../ports/leadership.js';
import type { JobCache } from '../ports/job-cache.js';
import type { EventBus } from '../ports/event-bus.js';
import { EventRelay } from '../services/events/relay.js';
import { WEBHOOK_CURSOR } from '../services/webhooks/dispatcher.js';
import { Webhooks, webhookPolicy, type WebhookOptions } from '../services/webhooks/webhooks.js';
import { EventedWorkerDirectory } from '../services/events/evented-worker-directory.js';
import type { AlertStore } from '../ports/alert-store.js';
import { AlertEvaluator } from '../services/alerts/evaluator.js';
import { EngineMetrics } from '../services/metrics/engine-metrics.js';
import { fairnessPolicy } from '../domain/fairness.js';
import { RunningSweep } from '../services/maintenance/running-sweep.js';
import { WorkerStatusReporter } from '../services/maintenance/worker-status.js';

/** Worker status events: every 30 s, the heartbeat timeout's order of magnitude (lease 30 s), so a silent worker shows before it is lost. */
export const DEFAULT_WORKER_STATUS_MS = 30_000;

export interface DocketParts {
  store: Store;
  dispatch: Dispatch;
  clock: Clock;
  leaseMs?: number;
  maxPayloadBytes?: number;
  /**
   * Interval of the one-second loops (promoter, expirer, lease reaper, worker monitor, housekeeper);
   * the repair scan and the pruner take it when it is longer than theirs. @defaultValue 1000 ms
   */
  maintenanceIntervalMs?: number;
  /** Each loop's interval, over `maintenanceIntervalMs`, `recoveryIntervalMs` and `rules.loops` (config/sections/loops.ts). @defaultValue DEFAULT_LOOPS */
  loops?: Partial<LoopIntervals>;
  random?: () => number;
  onError?: (err: unknown) => void;
  /** A remote worker silent this long is lost and its jobs go back to the queue. @defaultValue leaseMs */
  heartbeatTimeoutMs?: number;
  /**
   * The registry of remote workers; a Redis one when several API processes serve the cluster. Its
   * own heartbeatTimeoutMs is the one workers are told and the monitor applies.
   * @defaultValue an in-memory directory (this process only) with `heartbeatTimeoutMs`
   */
  workers?: WorkerDirectory;
  /**
   * How often the leader publishes a `status` event per active worker on `worker-events` (docs/events.md).
   * Shorter: a silent worker shows sooner, at one event per worker per interval; 0: off. @defaultValue 30000 ms
   */
  workerStatusIntervalMs?: number;
  /**
   * Who runs the cluster-wide duties. Embedded: this process (SoloLeadership). null: this process
   * never does (an API- or worker-only node). @defaultValue SoloLeadership
   */
  leadership?: Leadership | null;
  /** Finished jobs kept for reads. @defaultValue none (embedded reads are local) */
  cache?: JobCache;
  /** Rules of the configuration file: error classification, recovery policies, retention. */
  rules?: FileConfig;
  /** How often recovery conditions are looked at. @defaultValue 250 ms */
  recoveryIntervalMs?: number;
  /** Told when this process becomes the leader (true) or stops being it (false): for logs. */
  onLeadership?: (leader: boolean) => void;
  /** Cron schedules (docs/schedules.md): the store's schedule tables. @defaultValue none: no schedules */
  schedules?: ScheduleStore | null;
  /** Job templates (docs/templates.md). @defaultValue the store's own (SQLite or PostgreSQL); null: off */
  templates?: TemplateStore | null;
  /** Migrate the store at start. @defaultValue true */
  migrate?: boolean;
  /** Lifecycle events: where the relay publishes the store's event log. */
  events?: EventsOptions;
  /** Webhooks (docs/webhooks.md). @defaultValue on, in the store's own database (SQLite or PostgreSQL); null: off */
  webhooks?: WebhookOptions | null;
  /** Alerts (docs/alerts.md): the rules come from `rules.alerts`. @defaultValue the store's own tables; null: off */
  alerts?: AlertStore | null;
  /** Handlers' log lines (docs/logs.md). @defaultValue the store's own database (SQLite or PostgreSQL, table job_logs); null: off */
  logs?: JobLogStore | null;
  /** Most log kept per job, in bytes; the oldest lines go first. @defaultValue 1 MiB */
  logCapBytes?: number;
}

export interface EventsOptions {
  /** The bus (Kafka) events are published to. @defaultValue none: SSE and webhooks still read the log */
  bus?: EventBus | null;
  /** Prepended to topic names. @defaultValue '' */
  topicPrefix?: string;
  /** The envelopes' source. @defaultValue /docket/embedded */
  source?: string;
  /** How long events stay in the log once every reader has passed them. @defaultValue 24 h */
  retentionMs?: number;
}

/** A running engine: store, dispatch, service and the maintenance loops, started and stopped together. */
export class Docket {
  readonly jobs: Jobs;
  readonly promoter: Promoter;
  readonly expirer: Expirer;
  readonly reaper: LeaseReaper;
  readonly workers: WorkerDirectory;
  readonly monitor: WorkerMonitor;
  /** Periodic worker status events (a leader duty); null when the interval is 0. */
  readonly workerStatus: WorkerStatusReporter | null;
  readonly housekeeper: Housekeeper;
  readonly repair: DispatchRepair;
  readonly recovery: RecoveryLoop;
  readonly recoveryOps: RecoveryOps;
  readonly pruner: Pruner;
  /** Cron schedules and their firer (a leader duty); null without a schedule store. */
  readonly schedules: ScheduleService | null;
  readonly firer: ScheduleFirer | null;
  readonly leadership: Leadership | null;
  readonly relay: EventRelay;
  /** Webhook subscriptions, their dispatcher and sender (one leader duty); null when off. */
  readonly webhooks: Webhooks | null;
  /** Alert state and history, and the rules' evaluator (a leader duty); null when off. */
  readonly alerts: { store: AlertStore; evaluator: AlertEvaluator } | null;
  /** This process's own counters (webhook attempts, recovery events), served by /metrics beside the cluster's. */
  readonly metrics: EngineMetrics;
  private readonly duties: { start(): void; stop(): Promise<void> }[];
  private leading: Promise<void> = Promise.resolve();
  private readonly onError: (err: unknown) => void;
  private readonly migrateAtStart: boolean;
  private readonly options: DocketParts;
  readonly store: Store;
  readonly dispatch: Dispatch;
  readonly clock: Clock;

  constructor(parts: DocketParts) {
    const { store, dispatch, clock } = parts;
    const rules = parts.rules ?? EMPTY_FILE_CONFIG;
    const onError = parts.onError ?? ((err) => console.error('docket maintenance error:', err));
    const loops = resolveLoops({ maintenanceIntervalMs: parts.maintenanceIntervalMs, recoveryIntervalMs: parts.recoveryIntervalMs, loops: { ...rules.loops, ...parts.loops } });
    this.store = store;
    this.dispatch = dispatch;
    this.clock = clock;
    const fairness = rules.fairness ? fairnessPolicy(rules.fairness) : null;
    this.jobs = new Jobs(store, dispatch, clock, {
      ...(parts.leaseMs ? { leaseMs: parts.leaseMs } : {}),
      ...(parts.maxPayloadBytes ? { limits: { maxPayloadBytes: parts.maxPayloadBytes } } : {}),
      ...(parts.random ? { random: parts.random } : {}),
      ...(parts.cache ? { cache: parts.cache } : {}),
      recovery: { rules: compileRules(rules.classify), policies: rules.policies },
      ...templatesOf(parts),
      ...(rules.dedup ? { dedup: rules.dedup } : {}),
      ...(fairness ? { fairness } : {}),
      ...(rules.routing ? { routing: rules.routing } : {}),
      ...logsOf(parts),
    });
    this.promoter = new Promoter(this.jobs, dispatch, clock, { maxIntervalMs: loops.promoterMs, batchSize: 1000 }, onError);
    this.expirer = new Expirer(this.jobs, store, clock, { intervalMs: loops.expirerMs, batchSize: 1000 }, onError);
    this.reaper = new LeaseReaper(this.jobs, store, clock, { intervalMs: loops.leaseReaperMs, batchSize: 1000 }, onError);
    const heartbeatTimeoutMs = parts.heartbeatTimeoutMs ?? this.jobs.leaseMs;
    this.workers = new EventedWorkerDirectory(parts.workers ?? new MemoryWorkerDirectory(clock, heartbeatTimeoutMs), store.events, clock);
    this.monitor = new WorkerMonitor(this.jobs, this.workers, clock, { intervalMs: loops.workerMonitorMs, heartbeatTimeoutMs: this.workers.heartbeatTimeoutMs }, onError);
    const statusMs = parts.workerStatusIntervalMs ?? DEFAULT_WORKER_STATUS_MS;
    this.workerStatus = statusMs > 0 ? new WorkerStatusReporter(this.jobs, this.workers, store.events, clock, { intervalMs: statusMs }, onError) : null;
    this.repair = new DispatchRepair(this.jobs, store, dispatch, clock, { intervalMs: loops.dispatchRepairMs, graceMs: 3000, scanPerRun: 5000 }, onError);
    this.leadership = parts.leadership === undefined ? new SoloLeadership() : parts.leadership;
    this.recovery = new RecoveryLoop(this.jobs, store, clock, this.jobs.parking.events, { intervalMs: loops.recoveryMs }, onError);
    this.recoveryOps = new RecoveryOps(this.jobs, store, clock);
    this.pruner = new Pruner(this.jobs, store, clock, { intervalMs: loops.prunerMs, retention: rules.retention, batchSize: 5000 }, onError);
    const events = parts.events ?? {};
    this.metrics = new EngineMetrics();
    this.webhooks = webhooksOf(parts, rules, loops, events.source ?? '/docket/embedded', onError, this.metrics);
    this.relay = new EventRelay(store, clock, {
      bus: events.bus ?? null,
      intervalMs: loops.relayMs,
      topicPrefix: events.topicPrefix ?? '',
      source: events.source ?? '/docket/embedded',
      ...(events.retentionMs !== undefined ? { retentionMs: events.retentionMs } : {}),
      ...(this.webhooks ? { readers: [WEBHOOK_CURSOR] } : {}),
    }, onError);
    this.duties = [this.relay, this.promoter, this.expirer, this.reaper, this.monitor, this.repair, this.recovery, this.pruner];
    if (this.workerStatus) this.duties.push(this.workerStatus);
    // Tenant caps: the leader checks the dispatch's running counts against the store.
    if (fairness) this.duties.push(new RunningSweep(store, dispatch, fairness, clock, loops.runningSweepMs, onError));
    if (this.webhooks) {
      this.duties.push(this.webhooks);
      const dispatcher = this.webhooks.dispatcher;
      this.relay.onPositioned(() => dispatcher.wake());
    }
    const limits = { maxPayloadBytes: parts.maxPayloadBytes ?? DEFAULT_INPUT_LIMITS.maxPayloadBytes };
    this.schedules = parts.schedules ? new ScheduleService(parts.schedules, clock, { limits }) : null;
    this.firer = this.schedules ? new ScheduleFirer(this.schedules, this.jobs, store, clock, { maxIntervalMs: loops.scheduleFirerMs }, onError) : null;
    if (this.firer) this.duties.push(this.firer);
    const alertStore = parts.alerts === undefined ? store.companions?.().alerts : parts.alerts;
    this.alerts = alertStore
      ? { store: alertStore, evaluator: new AlertEvaluator(alertStore, store, this.workers, clock, { rules: rules.alerts?.rules ?? [], intervalMs: rules.alerts?.intervalMs ?? DEFAULT_ALERT_INTERVAL_MS }, onError) }
      : null;
    if (this.alerts) this.duties.push(this.alerts.evaluator);
    this.onError = onError;
    this.options = parts;
    this.migrateAtStart = parts.migrate ?? true;
    this.housekeeper = new Housekeeper(this.jobs, store, clock, { intervalMs: loops.housekeeperMs, idempotencyTtlMs: 24 * 3600_000 }, onError);
  }

  /**
   * Migrates, then campaigns for leadership: the leader first repairs the dispatch index (rebuilds
   * it from the store when it is empty) and then runs the cluster-wide duties. Resolves once this
   * process is serving (and, as leader, has its index rebuilt).
   */
  async start(): Promise<void> {
    if (this.migrateAtStart) await this.store.migrate();
    await this.jobs.pauses.refresh();
    this.housekeeper.start();
    await this.leadership?.start((leader) => (leader ? this.lead() : this.follow()));
    await this.leading;
  }

  /** Stops the engine: its loops, then its connections. Stop workers first (`worker.close()`). */
  async close(): Promise<void> {
    await this.leadership?.stop();
    await this.leading;
    await Promise.all([...this.duties.map((d) => d.stop()), this.housekeeper.stop()]);
    await this.jobs.outcomes.drain();
    await this.jobs.logs.drain();
    await this.workers.close();
    await this.dispatch.close();
    await this.store.close();
  }

  /** @deprecated Renamed `close()`, as `Worker.close()`; kept so older code runs. */
  stop(): Promise<void> {
    return this.close();
  }

  private lead(): void {
    this.options.onLeadership?.(true);
    this.leading = this.repair
      .runOnce(true)
      .catch(this.onError)
      .then(() => {
        if (this.leadership?.isLeader) for (const duty of this.duties) duty.start();
      });
  }

  private follow(): void {
    this.options.onLeadership?.(false);
    this.leading = this.leading.then(() => Promise.all(this.duties.map((d) => d.stop()))).then(() => undefined);
  }
}

export interface EmbeddedOptions extends Partial<Omit<DocketParts, 'store' | 'dispatch'>> {
  /** Directory of the SQLite file (`docket.db`), or use `path`. */
  dataDir?: string;
  /** SQLite file path; ':memory:' for a throwaway engine. */
  path?: string;
  sqliteSync?: 'normal' | 'full';
  /**
   * Ready jobs of one tenant, type and priority of a queue that the dispatch keeps in memory; the
   * rest stay in the SQLite file and are read a page at a time. Bounds the engine's memory with a
   * large backlog (a million queued jobs: ~2,000 entries held, not a million). @defaultValue 1000
   */
  dispatchWindow?: number;
}

/** The zero-setup engine: SQLite store, in-memory dispatch, in-process everything. */
export async function openEmbedded(options: EmbeddedOptions = {}): Promise<Docket> {
  const clock = options.clock ?? new SystemClock();
  const path = options.path ?? join(options.dataDir ?? './data', 'docket.db');
  const store = new SqliteStore({ path, ...(options.sqliteSync ? { synchronous: options.sqliteSync } : {}) });
  const dispatch = embeddedDispatch(clock, store, fairnessPolicy(options.rules?.fairness), options.dispatchWindow);
  const docket = new Docket({ ...options, schedules: options.schedules ?? store.companions().schedules, store, dispatch, clock });
  await docket.start();
  return docket;
}

/** The embedded engine's dispatch: in memory, holding the head of each bucket and paging the rest from `store`. */
export function embeddedDispatch(clock: Clock, store: SqliteStore, fairness: FairnessPolicy, window?: number): MemoryDispatch {
  return new MemoryDispatch(clock, fairness, { backlog: new SqliteReadyBacklog(store.db), ...(window !== undefined ? { size: window } : {}) });
}

/** The job logs' store: the given one, else a table in the job store's own database. */
function logsOf(parts: DocketParts): { logs?: JobLogStore; logCapBytes?: number } {
  const store = parts.logs !== undefined ? parts.logs : (parts.store.companions?.().logs ?? null);
  return { ...(store ? { logs: store } : {}), ...(parts.logCapBytes !== undefined ? { logCapBytes: parts.logCapBytes } : {}) };
}

/** The job service's template option: the given template store, else the store's own. */
function templatesOf(parts: DocketParts): { templates?: TemplateService } {
  const store = parts.templates === undefined ? parts.store.companions?.().templates : parts.templates;
  if (!store) return {};
  return { templates: new TemplateService(store, parts.clock, { maxPayloadBytes: parts.maxPayloadBytes ?? DEFAULT_INPUT_LIMITS.maxPayloadBytes }) };
}

/** Webhooks on the given store, else the job store's own; none when that has no webhook tables. */
function webhooksOf(parts: DocketParts, rules: FileConfig, loops: LoopIntervals, source: string, onError: (err: unknown) => void, metrics: EngineMetrics): Webhooks | null {
  if (parts.webhooks === null) return null;
  const options = { dispatchIntervalMs: loops.webhookDispatchMs, pollIntervalMs: loops.webhookSendMs, ...parts.webhooks };
  const store = options.store ?? parts.store.companions?.().webhooks;
  if (!store) return null;
  const policy = webhookPolicy(rules.webhooks, options.policy);
  const onAttempt = metrics.webhookAttempt(options.onAttempt);
  return new Webhooks(parts.store.events, store, parts.clock, { ...options, onAttempt, policy, source, ...(parts.random ? { random: parts.random } : {}) }, onError);
}
