import type { WorkerPage, WorkerQuery } from '../domain/workers.js';

export interface WorkerInfo {
  queues: readonly string[];
  /** How many jobs the worker runs at once. @defaultValue 1 */
  capacity?: number;
  name?: string;
  labels?: Record<string, string>;
  /** The tenant whose jobs it runs (its token's); null or absent: every tenant (a cluster worker). */
  tenant?: string | null;
}

/** A registered remote worker. Times are epoch ms. */
export interface WorkerRecord {
  id: string;
  name: string | null;
  queues: string[];
  capacity: number;
  labels: Record<string, string>;
  /** The tenant whose jobs it runs; null: every tenant (registered by a cluster-wide token). */
  tenant: string | null;
  registeredAt: number;
  lastHeartbeatAt: number;
  /** `lost`: silent past the heartbeat timeout; its jobs went back to the queue. */
  status: 'active' | 'lost';
}

/**
 * The remote workers of the cluster: who registered, their last sign of life, who went silent.
 * In memory for one process; shared (Redis) when several API processes serve the same cluster, so
 * a worker may register on one and heartbeat on another.
 *
 * Losing this list (restart, expiry) loses no job: a worker's leases live in the store, and a
 * worker that gets 404 on its heartbeat simply registers again. Records are snapshots: changing
 * one changes nothing in the directory.
 */
export interface WorkerDirectory {
  /** A worker silent for longer is lost (WorkerMonitor); registration replies tell workers this. */
  readonly heartbeatTimeoutMs: number;
  /** Records a new worker, active, with its first heartbeat now. Returns its fresh id. */
  register(info: WorkerInfo): Promise<string>;
  get(id: string): Promise<WorkerRecord | undefined>;
  /** Registration order. */
  list(): Promise<WorkerRecord[]>;
  /** One page in id order, filtered: its cost follows the page, not the number of workers. */
  page(query: WorkerQuery): Promise<WorkerPage>;
  /** Records a sign of life (a lost worker is active again); false when the worker is unknown. */
  touch(id: string): Promise<boolean>;
  /** False when the worker was not registered. */
  unregister(id: string): Promise<boolean>;
  /**
   * Marks active workers silent for longer than `timeoutMs` as lost and returns those newly lost.
   * Atomic across every instance sharing the directory: each worker is reported by one sweep only,
   * so only one process gives its jobs back.
   */
  sweep(timeoutMs: number): Promise<WorkerRecord[]>;
  close(): Promise<void>;
}
