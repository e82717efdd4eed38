import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertStore } from '../../../ports/alert-store.js';
import { SystemClock } from '../../../adapters/clock/system-clock.js';
import type { EngineMetrics } from '../../../services/metrics/engine-metrics.js';
import { LogCounters } from '../../../services/metrics/log-counters.js';
import type { Api, RouteDeps } from '../server.js';

/** The event log's readers whose lag is reported (cursor names). */
const EVENT_READERS = ['bus', 'webhooks'];

/** What /metrics serves besides what the route deps give. */
export interface MetricsDeps {
  /** This process's own counters (webhook attempts). */
  engine?: EngineMetrics;
  /** Alerts firing, by rule. */
  alerts?: AlertStore;
  /** HTTP request durations (installRequestTiming). */
  requests?: Histogram<'route' | 'method' | 'status_class'>;
}

/**
 * Times every request (onResponse), labelled by route pattern (`/v1/jobs/:id`, never the id),
 * method and status class. Installed before the routes so every one of them is timed.
 */
export function installRequestTiming(app: FastifyInstance): Histogram<'route' | 'method' | 'status_class'> {
  const histogram = new Histogram({
    name: 'docket_http_request_duration_seconds',
    help: 'HTTP requests served by this node, by route pattern, method and status class (2xx, 4xx...)',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ route, method: request.method, status_class: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
    done();
  });
  return histogram;
}

/**
 * Prometheus metrics at GET /metrics (admins and viewers; Prometheus sends a bearer token with
 * `authorization: { credentials_file: ... }`). See docs/metrics.md for every metric.
 *
 * - Gauges (jobs by state, workers, conditions, alerts, the log's lag) are read from the store and
 *   the worker directory when scraped: every API node reports the same cluster-wide numbers.
 * - Job counters and histograms are counted from the event log by this node (LogCounters): also
 *   cluster-wide, from this node's first scrape on.
 * - HTTP request durations, webhook attempts and recovery events are this node's own.
 */
export function metricsRoutes(app: Api, deps: RouteDeps, extra: MetricsDeps = {}): void {
  const { jobs, recovery, workers, events: log } = deps;
  const registry = new Registry();
  // Unprefixed: process_cpu_seconds_total, nodejs_heap_size_used_bytes... are the names the
  // standard Node.js dashboards query.
  collectDefaultMetrics({ register: registry });
  const clock = new SystemClock();

  new Gauge({
    name: 'docket_jobs',
    help: 'Jobs by queue and state (failed = the dead letters)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await jobs.queries.queues(null)) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.queue, state }, n);
    },
  });
  new Gauge({
    name: 'docket_queue_paused',
    help: '1 when the queue is paused',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of await jobs.queries.queues(null)) this.set({ queue: q.queue }, q.paused ? 1 : 0);
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
  new Gauge({
    name: 'docket_recovery_condition_open_seconds',
    help: 'How long each recovery condition (blocked jobs\' shared cause) has been open, by status',
    labelNames: ['condition', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = clock.now();
      for (const c of await recovery.list(null)) this.set({ condition: c.key, status: c.status }, Math.max(0, now - c.firstSeenAt) / 1000);
    },
  });
  const recoveryEvents = new Counter({
    name: 'docket_recovery_events_total',
    help: 'Recovery condition events on this node: opened, probe, probe_failed, cleared, reopened, exhausted, closed',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const unlisten = jobs.parking.events.on((e) => recoveryEvents.inc({ type: e.type }));

  new Gauge({
    name: 'docket_workers',
    help: 'Remote workers in the directory, by status (active, lost)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const list = await workers.list();
      this.set({ status: 'active' }, list.filter((w) => w.status === 'active').length);
      this.set({ status: 'lost' }, list.filter((w) => w.status === 'lost').length);
    },
  });
  new Gauge({
    name: 'docket_queue_workers',
    help: 'Active remote workers serving each queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const byQueue = new Map<string, number>();
      for (const w of await workers.list()) if (w.status === 'active') for (const q of w.queues) byQueue.set(q, (byQueue.get(q) ?? 0) + 1);
      for (const [queue, n] of byQueue) this.set({ queue }, n);
    },
  });
  // By queue, not by worker: a label per worker id would add a series for every worker that ever
  // registered (ids are new on each start), a cardinality that only grows.
  new Gauge({
    name: 'docket_worker_heartbeat_age_seconds',
    help: 'Time since the oldest last heartbeat among the active remote workers serving each queue',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const now = clock.now();
      const oldest = new Map<string, number>();
      for (const w of await workers.list()) {
        if (w.status !== 'active') continue;
        const age = Math.max(0, now - w.lastHeartbeatAt) / 1000;
        for (const q of w.queues) oldest.set(q, Math.max(oldest.get(q) ?? 0, age));
      }
      for (const [queue, age] of oldest) this.set({ queue }, age);
    },
  });
  if (extra.alerts) {
    const alerts = extra.alerts;
    new Gauge({
      name: 'docket_alerts_firing',
      help: 'Alerts firing now, by rule and kind (docs/alerts.md)',
      labelNames: ['rule', 'kind'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const a of await alerts.list({ state: 'firing', limit: 1000 })) this.inc({ rule: a.rule, kind: a.kind });
      },
    });
  }

  let counters: LogCounters | null = null;
  if (log) {
    const eventLog = log.log;
    counters = new LogCounters(eventLog, clock, {}, (err) => app.log.error({ err }, 'metrics: reading the event log failed'));
    for (const m of counters.all()) registry.registerMetric(m);
    const reader = counters;
    new Gauge({
      name: 'docket_event_log_position',
      help: 'Position of the last lifecycle event in the event log (events logged and positioned so far)',
      registers: [registry],
      async collect() {
        this.set(await eventLog.lastPosition());
      },
    });
    new Gauge({
      name: 'docket_event_reader_lag_events',
      help: 'Events logged that a reader of the log has not handled yet: bus (Kafka publishing), webhooks (matching), metrics (this node\'s counters)',
      labelNames: ['reader'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const last = await eventLog.lastPosition();
        for (const name of EVENT_READERS) {
          const at = await eventLog.cursor(name);
          if (at !== null) this.set({ reader: name }, Math.max(0, last - at));
        }
        if (reader.position !== null) this.set({ reader: 'metrics' }, Math.max(0, last - reader.position));
      },
    });
    new Gauge({
      name: 'docket_event_publish_lag_seconds',
      help: 'Age of the oldest event not yet published to the bus (Kafka); 0 when all are',
      registers: [registry],
      async collect() {
        const at = await eventLog.cursor('bus');
        if (at === null) return this.set(0);
        const [next] = await eventLog.read(at, 1);
        this.set(next ? Math.max(0, clock.now() - next.at) / 1000 : 0);
      },
    });
  }
  for (const m of extra.engine?.all() ?? []) registry.registerMetric(m);
  if (extra.requests) registry.registerMetric(extra.requests);

  app.addHook('onClose', async () => {
    unlisten();
    await counters?.stop();
  });

  app.get('/metrics', { config: { action: 'metrics:read' }, schema: { hide: true } }, async (_request, reply) => {
    await counters?.catchUp();
    return reply.type(registry.contentType).serializer((x: unknown) => x as string).send(await registry.metrics());
  });
}
