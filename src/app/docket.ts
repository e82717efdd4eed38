import { join } from 'node:path';
import { MemoryDispatch } from '../adapters/memory/memory-dispatch.js';
import { MemoryWorkerDirectory } from '../adapters/memory/memory-worker-directory.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import type { Clock } from '../ports/clock.js';
import type { Dispatch } from '../ports/dispatch.js';
import type { Store } from '../ports/store.js';
import type { WorkerDirectory } from '../ports/worker-directory.js';
import { JobService } from '../services/job-service.js';
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
import { EMPTY_FILE_CONFIG, type FileConfig } from './config-file.js';
import { SoloLeadership } from '../adapters/memory/solo-leadership.js';
import type { Leadership } from '../ports/leadership.js';
import type { JobCache } from '../ports/job-cache.js';

export interface DocketParts {
  store: Store;
  dispatch: Dispatch;
  clock: Clock;
  leaseMs?: number;
  maxPayloadBytes?: number;
  /** Interval of the expirer and lease reaper. @defaultValue 1000 ms */
  maintenanceIntervalMs?: number;
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
  /** Migrate the store at start. @defaultValue true */
  migrate?: boolean;
}

/** A running engine: store, dispatch, service and the maintenance loops, started and stopped together. */
export class Docket {
  readonly service: JobService;
  readonly promoter: Promoter;
  readonly expirer: Expirer;
  readonly reaper: LeaseReaper;
  readonly workers: WorkerDirectory;
  readonly monitor: WorkerMonitor;
  readonly housekeeper: Housekeeper;
  readonly repair: DispatchRepair;
  readonly recovery: RecoveryLoop;
  readonly recoveryOps: RecoveryOps;
  readonly pruner: Pruner;
  readonly leadership: Leadership | null;
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
    const intervalMs = parts.maintenanceIntervalMs ?? 1000;
    this.store = store;
    this.dispatch = dispatch;
    this.clock = clock;
    this.service = new JobService(store, dispatch, clock, {
      ...(parts.leaseMs ? { leaseMs: parts.leaseMs } : {}),
      ...(parts.maxPayloadBytes ? { limits: { maxPayloadBytes: parts.maxPayloadBytes } } : {}),
      ...(parts.random ? { random: parts.random } : {}),
      ...(parts.cache ? { cache: parts.cache } : {}),
      recovery: { rules: compileRules(rules.classify), policies: rules.policies },
    });
    this.promoter = new Promoter(this.service, dispatch, clock, { maxIntervalMs: intervalMs, batchSize: 1000 }, onError);
    this.expirer = new Expirer(this.service, store, clock, { intervalMs, batchSize: 1000 }, onError);
    this.reaper = new LeaseReaper(this.service, store, clock, { intervalMs, batchSize: 1000 }, onError);
    const heartbeatTimeoutMs = parts.heartbeatTimeoutMs ?? this.service.leaseMs;
    this.workers = parts.workers ?? new MemoryWorkerDirectory(clock, heartbeatTimeoutMs);
    this.monitor = new WorkerMonitor(this.service, this.workers, clock, { intervalMs, heartbeatTimeoutMs: this.workers.heartbeatTimeoutMs }, onError);
    this.repair = new DispatchRepair(this.service, store, dispatch, clock, { intervalMs: Math.max(intervalMs, 5000), graceMs: 3000, scanPerRun: 5000 }, onError);
    this.leadership = parts.leadership === undefined ? new SoloLeadership() : parts.leadership;
    this.recovery = new RecoveryLoop(this.service, store, clock, this.service.recoveryEvents, { intervalMs: parts.recoveryIntervalMs ?? 250 }, onError);
    this.recoveryOps = new RecoveryOps(this.service, store, clock);
    this.pruner = new Pruner(this.service, store, clock, { intervalMs: Math.max(intervalMs, 60_000), retention: rules.retention, batchSize: 5000 }, onError);
    this.duties = [this.promoter, this.expirer, this.reaper, this.monitor, this.repair, this.recovery, this.pruner];
    this.onError = onError;
    this.options = parts;
    this.migrateAtStart = parts.migrate ?? true;
    this.housekeeper = new Housekeeper(this.service, store, clock, { intervalMs, idempotencyTtlMs: 24 * 3600_000 }, onError);
  }

  /**
   * Migrates, then campaigns for leadership: the leader first repairs the dispatch index (rebuilds
   * it from the store when it is empty) and then runs the cluster-wide duties. Resolves once this
   * process is serving (and, as leader, has its index rebuilt).
   */
  async start(): Promise<void> {
    if (this.migrateAtStart) await this.store.migrate();
    await this.service.refreshPaused();
    this.housekeeper.start();
    await this.leadership?.start((leader) => (leader ? this.lead() : this.follow()));
    await this.leading;
  }

  async stop(): Promise<void> {
    await this.leadership?.stop();
    await this.leading;
    await Promise.all([...this.duties.map((d) => d.stop()), this.housekeeper.stop()]);
    await this.service.drain();
    await this.workers.close();
    await this.dispatch.close();
    await this.store.close();
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
}

/** The zero-setup engine: SQLite store, in-memory dispatch, in-process everything. */
export async function openEmbedded(options: EmbeddedOptions = {}): Promise<Docket> {
  const clock = options.clock ?? new SystemClock();
  const path = options.path ?? join(options.dataDir ?? './data', 'docket.db');
  const store = new SqliteStore({ path, ...(options.sqliteSync ? { synchronous: options.sqliteSync } : {}) });
  const docket = new Docket({ ...options, store, dispatch: new MemoryDispatch(clock), clock });
  await docket.start();
  return docket;
}
