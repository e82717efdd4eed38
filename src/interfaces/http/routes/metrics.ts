import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Api, RouteDeps } from '../server.js';

/** The event log's readers whose lag is reported (cursor names). */
const EVENT_READERS = ['bus', 'webhooks'];

/**
 * Prometheus metrics at GET /metrics (admins and viewers; Prometheus sends a bearer token with
 * `authorization: { credentials_file: ... }`). Gauges are read from the store when scraped, so
 * every API node reports the same cluster-wide numbers.
 */
export function metricsRoutes(app: Api, { service, recovery, events: log }: RouteDeps): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'docket_process_' });

  new Gauge({
    name: 'docket_jobs',
    help: 'Jobs by queue and state (failed = the dead letters)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await service.queues(null)) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.queue, state }, n);
    },
  });
  new Gauge({
    name: 'docket_queue_paused',
    help: '1 when the queue is paused',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await service.queues(null)) this.set({ queue: q.queue }, q.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'docket_recovery_parked_jobs',
    help: 'Jobs parked (blocked) under each open recovery condition, by status of the condition',
    labelNames: ['condition', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of await recovery.list(null)) this.set({ condition: c.key, status: c.status }, c.parkedTotal);
    },
  });
  const events = new Counter({
    name: 'docket_recovery_events_total',
    help: 'Recovery condition events on this node: opened, probe, probe_failed, cleared, reopened, exhausted, closed',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  service.recoveryEvents.on((e) => events.inc({ type: e.type }));
  if (log) {
    new Gauge({
      name: 'docket_event_log_position',
      help: 'Position of the last lifecycle event in the event log (events logged and positioned so far)',
      registers: [registry],
      async collect() {
        this.set(await log.log.lastPosition());
      },
    });
    new Gauge({
      name: 'docket_event_reader_lag_events',
      help: 'Events logged that a reader of the log has not handled yet: bus (Kafka publishing), webhooks (matching)',
      labelNames: ['reader'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const last = await log.log.lastPosition();
        for (const reader of EVENT_READERS) {
          const at = await log.log.cursor(reader);
          if (at !== null) this.set({ reader }, Math.max(0, last - at));
        }
      },
    });
  }

  app.get('/metrics', { config: { action: 'metrics:read' }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(registry.contentType).serializer((x: unknown) => x as string).send(await registry.metrics()),
  );
}
