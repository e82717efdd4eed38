import { matchesWorkerQuery, pageOf, type WorkerPage, type WorkerQuery } from '../../domain/workers.js';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../ports/clock.js';
import type { WorkerDirectory, WorkerInfo, WorkerRecord } from '../../ports/worker-directory.js';

/**
 * Remote workers known to this process. Enough for one API process: a worker's leases live in
 * the store, so losing this list (restart) loses no job; workers simply register again.
 */
export class MemoryWorkerDirectory implements WorkerDirectory {
  private readonly workers = new Map<string, WorkerRecord>();

  constructor(
    private readonly clock: Clock,
    /** A worker silent for longer is lost (WorkerMonitor). @defaultValue 30 000 ms */
    readonly heartbeatTimeoutMs = 30_000,
  ) {}

  async register(info: WorkerInfo): Promise<string> {
    const id = randomUUID();
    const now = this.clock.now();
    this.workers.set(id, {
      id,
      name: info.name ?? null,
      queues: [...info.queues],
      capacity: info.capacity ?? 1,
      labels: { ...(info.labels ?? {}) },
      tenant: info.tenant ?? null,
      registeredAt: now,
      // Registering is a sign of life: a fresh worker is not reported as silent.
      lastHeartbeatAt: now,
      status: 'active',
    });
    return id;
  }

  async get(id: string): Promise<WorkerRecord | undefined> {
    const w = this.workers.get(id);
    return w && snapshot(w);
  }

  async list(): Promise<WorkerRecord[]> {
    return [...this.workers.values()].map(snapshot);
  }

  async page(query: WorkerQuery): Promise<WorkerPage> {
    const ids = [...this.workers.keys()].filter((id) => query.after === undefined || id > query.after).sort();
    const matching: WorkerRecord[] = [];
    for (const id of ids) {
      const w = snapshot(this.workers.get(id)!);
      if (matchesWorkerQuery(w, query) && matching.push(w) > query.limit) break;
    }
    return pageOf(matching, query.limit);
  }

  async touch(id: string): Promise<boolean> {
    const w = this.workers.get(id);
    if (!w) return false;
    w.lastHeartbeatAt = this.clock.now();
    w.status = 'active';
    return true;
  }

  async sweep(timeoutMs: number): Promise<WorkerRecord[]> {
    const now = this.clock.now();
    const lost: WorkerRecord[] = [];
    for (const w of this.workers.values()) {
      if (w.status === 'active' && now - w.lastHeartbeatAt > timeoutMs) {
        w.status = 'lost';
        lost.push(snapshot(w));
      }
    }
    return lost;
  }

  async unregister(id: string): Promise<boolean> {
    return this.workers.delete(id);
  }

  async close(): Promise<void> {}
}

/** A copy the caller may keep: later heartbeats do not change it (as with the Redis directory). */
function snapshot(w: WorkerRecord): WorkerRecord {
  return { ...w, queues: [...w.queues], labels: { ...w.labels } };
}
