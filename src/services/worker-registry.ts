import { randomUUID } from 'node:crypto';
import type { Clock } from '../ports/clock.js';

export interface WorkerInfo {
  queues: readonly string[];
  /** How many jobs the worker runs at once. @defaultValue 1 */
  capacity?: number;
  name?: string;
  labels?: Record<string, string>;
}

/** A registered remote worker. Times are epoch ms. */
export interface WorkerRecord {
  id: string;
  name: string | null;
  queues: string[];
  capacity: number;
  labels: Record<string, string>;
  registeredAt: number;
  lastHeartbeatAt: number;
  /** `lost`: silent past the heartbeat timeout; its jobs went back to the queue. */
  status: 'active' | 'lost';
}

/**
 * Remote workers known to this process. In memory on purpose: a worker's leases live in the store,
 * so losing this list (restart) loses no job; workers simply register again.
 */
export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerRecord>();

  constructor(
    private readonly clock: Clock,
    /** A worker silent for longer is lost (WorkerMonitor). @defaultValue 30 000 ms */
    readonly heartbeatTimeoutMs = 30_000,
  ) {}

  register(info: WorkerInfo): string {
    const id = randomUUID();
    const now = this.clock.now();
    this.workers.set(id, {
      id,
      name: info.name ?? null,
      queues: [...info.queues],
      capacity: info.capacity ?? 1,
      labels: { ...(info.labels ?? {}) },
      registeredAt: now,
      // Registering is a sign of life: a fresh worker is not reported as silent.
      lastHeartbeatAt: now,
      status: 'active',
    });
    return id;
  }

  get(id: string): WorkerRecord | undefined {
    return this.workers.get(id);
  }

  /** Registration order. */
  list(): WorkerRecord[] {
    return [...this.workers.values()];
  }

  /** Records a sign of life; false when the worker is unknown. */
  touch(id: string): boolean {
    const w = this.workers.get(id);
    if (!w) return false;
    w.lastHeartbeatAt = this.clock.now();
    w.status = 'active';
    return true;
  }

  /** Marks workers silent for longer than `timeoutMs` as lost; returns those newly lost. */
  sweep(timeoutMs: number): WorkerRecord[] {
    const now = this.clock.now();
    const lost: WorkerRecord[] = [];
    for (const w of this.workers.values()) {
      if (w.status === 'active' && now - w.lastHeartbeatAt > timeoutMs) {
        w.status = 'lost';
        lost.push(w);
      }
    }
    return lost;
  }

  /** False when the worker was not registered. */
  unregister(id: string): boolean {
    return this.workers.delete(id);
  }
}
