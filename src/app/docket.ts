import { join } from 'node:path';
import { MemoryDispatch } from '../adapters/memory/memory-dispatch.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { SystemClock } from '../adapters/clock/system-clock.js';
import type { Clock } from '../ports/clock.js';
import type { Dispatch } from '../ports/dispatch.js';
import type { Store } from '../ports/store.js';
import { JobService } from '../services/job-service.js';
import { Expirer } from '../services/maintenance/expirer.js';
import { LeaseReaper } from '../services/maintenance/lease-reaper.js';
import { Promoter } from '../services/maintenance/promoter.js';
import { Housekeeper } from '../services/maintenance/housekeeper.js';
import { WorkerMonitor } from '../services/maintenance/worker-monitor.js';
import { WorkerRegistry } from '../services/worker-registry.js';

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
}

/** A running engine: store, dispatch, service and the maintenance loops, started and stopped together. */
export class Docket {
  readonly service: JobService;
  readonly promoter: Promoter;
  readonly expirer: Expirer;
  readonly reaper: LeaseReaper;
  readonly workers: WorkerRegistry;
  readonly monitor: WorkerMonitor;
  readonly housekeeper: Housekeeper;
  readonly store: Store;
  readonly dispatch: Dispatch;
  readonly clock: Clock;

  constructor(parts: DocketParts) {
    const { store, dispatch, clock } = parts;
    const onError = parts.onError ?? ((err) => console.error('docket maintenance error:', err));
    const intervalMs = parts.maintenanceIntervalMs ?? 1000;
    this.store = store;
    this.dispatch = dispatch;
    this.clock = clock;
    this.service = new JobService(store, dispatch, clock, {
      ...(parts.leaseMs ? { leaseMs: parts.leaseMs } : {}),
      ...(parts.maxPayloadBytes ? { limits: { maxPayloadBytes: parts.maxPayloadBytes } } : {}),
      ...(parts.random ? { random: parts.random } : {}),
    });
    this.promoter = new Promoter(this.service, dispatch, clock, { maxIntervalMs: intervalMs, batchSize: 1000 }, onError);
    this.expirer = new Expirer(this.service, store, clock, { intervalMs, batchSize: 1000 }, onError);
    this.reaper = new LeaseReaper(this.service, store, clock, { intervalMs, batchSize: 1000 }, onError);
    const heartbeatTimeoutMs = parts.heartbeatTimeoutMs ?? this.service.leaseMs;
    this.workers = new WorkerRegistry(clock, heartbeatTimeoutMs);
    this.monitor = new WorkerMonitor(this.service, this.workers, clock, { intervalMs, heartbeatTimeoutMs }, onError);
    this.housekeeper = new Housekeeper(this.service, store, clock, { intervalMs, idempotencyTtlMs: 24 * 3600_000 }, onError);
  }

  /** Migrates, rebuilds the dispatch index from the store, and starts the maintenance loops. */
  async start(): Promise<void> {
    await this.store.migrate();
    await this.service.rebuildDispatch();
    this.promoter.start();
    this.expirer.start();
    this.reaper.start();
    this.monitor.start();
    this.housekeeper.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.promoter.stop(), this.expirer.stop(), this.reaper.stop(), this.monitor.stop(), this.housekeeper.stop()]);
    await this.service.drain();
    await this.dispatch.close();
    await this.store.close();
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
