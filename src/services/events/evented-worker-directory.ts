import type { WorkerPage, WorkerQuery } from '../../domain/workers.js';
import type { Clock } from '../../ports/clock.js';
import type { EventLog, NewLogEvent } from '../../ports/event-log.js';
import type { WorkerDirectory, WorkerInfo, WorkerRecord } from '../../ports/worker-directory.js';

/**
 * Workers are cluster infrastructure, not a tenant's: their events carry this tenant, which only
 * admins' streams show.
 */
export const CLUSTER_TENANT = '*';

/**
 * A worker directory that records `worker-events` (registered, heartbeat-lost, deregistered) in the
 * event log. The event is logged after the directory changed: a crash in between loses that one
 * event (the directory is not in the store's transaction); a lost worker's event is logged before
 * its jobs are given back, so the sweep that found it has always logged it.
 */
export class EventedWorkerDirectory implements WorkerDirectory {
  constructor(
    private readonly inner: WorkerDirectory,
    private readonly log: EventLog,
    private readonly clock: Clock,
  ) {}

  get heartbeatTimeoutMs(): number {
    return this.inner.heartbeatTimeoutMs;
  }

  async register(info: WorkerInfo): Promise<string> {
    const id = await this.inner.register(info);
    await this.log.append([this.event(id, 'registered', { workerId: id, name: info.name ?? null, queues: [...info.queues], capacity: info.capacity ?? 1 })]);
    return id;
  }

  get(id: string): Promise<WorkerRecord | undefined> {
    return this.inner.get(id);
  }

  list(): Promise<WorkerRecord[]> {
    return this.inner.list();
  }

  page(query: WorkerQuery): Promise<WorkerPage> {
    return this.inner.page(query);
  }

  touch(id: string): Promise<boolean> {
    return this.inner.touch(id);
  }

  async unregister(id: string): Promise<boolean> {
    const found = await this.inner.unregister(id);
    // A clean shutdown: the worker said goodbye (HTTP DELETE, or an in-process worker's close()).
    if (found) await this.log.append([this.event(id, 'deregistered', { workerId: id })]);
    return found;
  }

  async sweep(timeoutMs: number): Promise<WorkerRecord[]> {
    const lost = await this.inner.sweep(timeoutMs);
    if (lost.length > 0) {
      await this.log.append(lost.map((w) => this.event(w.id, 'heartbeat-lost', { workerId: w.id, name: w.name, queues: w.queues, lastHeartbeatAt: w.lastHeartbeatAt })));
    }
    return lost;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private event(id: string, type: string, data: NewLogEvent['data']): NewLogEvent {
    return workerEvent(id, type, data, this.clock.now());
  }
}

/** An event of topic `worker-events` about worker `id`, keyed by it. */
export function workerEvent(id: string, type: string, data: NewLogEvent['data'], at: number): NewLogEvent {
  return { topic: 'worker-events', key: id, tenant: CLUSTER_TENANT, linkId: null, type, at, data };
}
