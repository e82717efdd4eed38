import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import type { WorkerDirectory } from '../../ports/worker-directory.js';
import type { Jobs } from '../../services/jobs/index.js';
import type { Authenticator } from '../../auth/tokens.js';
import { installAccess } from './access.js';
import { registerOpenApi } from './openapi.js';
import { installRateLimits, type RateLimits } from './rate-limit.js';
import { clientErrorHandler, frameworkErrors, installMethodNotAllowed, refuseNulInUrl } from './framework-errors.js';
import { installJsonBody } from './json-body.js';
import { installProblemHandling, validatorCompiler } from './problem.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { dependencyRoutes } from './routes/dependencies.js';
import { queueRoutes } from './routes/queues.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { conditionRoutes } from './routes/conditions.js';
import { installRequestTiming, metricsRoutes } from './routes/metrics.js';
import { alertRoutes } from './routes/alerts.js';
import type { AlertStore } from '../../ports/alert-store.js';
import type { EngineMetrics } from '../../services/metrics/engine-metrics.js';
import type { RecoveryOps } from '../../services/recovery-ops.js';
import { workerRoutes } from './routes/workers.js';
import { jobLogRoutes } from './routes/job-logs.js';
import { jobActionRoutes } from './routes/job-actions.js';
import { scheduleRoutes } from './routes/schedules.js';
import type { ScheduleService } from '../../services/schedule-service.js';
import { eventsInRoutes } from './routes/events-in.js';
import type { IngestPipeline } from '../../services/ingest/pipeline.js';
import { templateRoutes } from './routes/templates.js';
import { eventRoutes, type EventStreamDeps } from './routes/events.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { WebhookService } from '../../services/webhooks/service.js';
import { uiRoutes } from './routes/ui.js';

/** The Fastify instance as routes see it: request and reply types inferred from TypeBox schemas. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface RouteDeps {
  jobs: Jobs;
  workers: WorkerDirectory;
  /** Readiness checks by engine name (`store`, `redis`...): each resolves when the engine answers. */
  readiness: Record<string, () => Promise<void>>;
  recovery: RecoveryOps;
  /** Whether this process leads the cluster's duties now (shown by /readyz). */
  isLeader: () => boolean;
  /** Fires when the server closes, so long-polls return at once instead of holding the shutdown. */
  closing: AbortSignal;
  /** The event log behind `GET /v1/events/stream`; absent: no stream route. */
  events?: EventStreamDeps;
  /** Webhooks: job callbacks are checked against its address guard; absent: callbacks not checked. */
  webhooks?: WebhookService;
}

export interface ServerOptions {
  jobs: Jobs;
  workers: WorkerDirectory;
  /** Operator actions on recovery conditions. */
  recovery: RecoveryOps;
  /** Verifies bearer tokens. Every route but health and the API document needs one. */
  auth: Authenticator;
  /** Per-tenant and per-token request limits. Absent: unlimited. */
  rateLimits?: RateLimits;
  readiness?: Record<string, () => Promise<void>>;
  /** @defaultValue always true (one embedded process) */
  isLeader?: () => boolean;
  /** Cron schedules (`/v1/schedules`); absent: no schedule routes. */
  schedules?: ScheduleService | null;
  /** The event log, for the SSE stream. */
  events?: EventStreamDeps;
  /** Webhook subscriptions (`/v1/webhooks`); absent: no webhook routes. */
  webhooks?: WebhookService;
  /** Ingest rules for `POST /v1/events`; absent: that route answers 501. */
  ingest?: IngestPipeline | null;
  /** The web dashboard's built files (docs/ui.md), served at `/`; false: no dashboard. @defaultValue dist/ui of the package */
  ui?: string | false;
  /** The engine's own counters, served by /metrics (Docket.metrics). */
  metrics?: EngineMetrics;
  /** Alerts (`/v1/alerts`, docs/alerts.md); absent: no alert routes. */
  alerts?: AlertStore | null;
  logger?: boolean | object;
  /**
   * A logger of the caller's (the server command's pino): failed requests (5xx) are logged on it at
   * error level with their cause. Each request's own lines are not logged. Takes over `logger`.
   */
  loggerInstance?: FastifyBaseLogger;
  /** Largest request body in bytes; larger ones get 413. @defaultValue 4 MiB (a full bulk submit of small jobs) */
  bodyLimit?: number;
}

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;
const CLOSE_GRACE_MS = 1000;
/** Longest path parameter; longer ones answer 414. */
const MAX_PARAM_LENGTH = 4096;

/** Builds the HTTP API. It does not listen: the caller does (and picks host and port). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance, disableRequestLogging: true } : { logger: opts.logger ?? false }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Queue names in the claim path may contain ':'; no other route parameter is long.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrors(MAX_PARAM_LENGTH),
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  installJsonBody(app as unknown as FastifyInstance);
  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API; replies are built from typed views, so plain
  // JSON.stringify serializes them (no silent field stripping, `result` omitted when undefined).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installProblemHandling(app as unknown as FastifyInstance);
  installMethodNotAllowed(app as unknown as FastifyInstance);
  refuseNulInUrl(app as unknown as FastifyInstance);
  // Before the routes: the document is collected from them as they register.
  await registerOpenApi(app as unknown as FastifyInstance);
  installAccess(app as unknown as FastifyInstance, opts.auth);
  if (opts.rateLimits) installRateLimits(app as unknown as FastifyInstance, opts.rateLimits);
  const requests = installRequestTiming(app as unknown as FastifyInstance);

  const closing = new AbortController();
  app.addHook('preClose', async () => {
    closing.abort();
    // Fastify closes idle keep-alive connections, but not ones that never sent a request (HTTP
    // clients pre-open pooled sockets); those would hold the shutdown until Node's headersTimeout.
    // Requests in flight get a short grace to finish first.
    setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  });

  const deps: RouteDeps = { jobs: opts.jobs, workers: opts.workers, recovery: opts.recovery, readiness: opts.readiness ?? {}, isLeader: opts.isLeader ?? (() => true), closing: closing.signal, ...(opts.events ? { events: opts.events } : {}), ...(opts.webhooks ? { webhooks: opts.webhooks } : {}) };
  healthRoutes(app, deps);
  jobRoutes(app, deps);
  dependencyRoutes(app, deps);
  queueRoutes(app, deps);
  deadLetterRoutes(app, deps);
  conditionRoutes(app, deps);
  metricsRoutes(app, deps, { requests, ...(opts.metrics ? { engine: opts.metrics } : {}), ...(opts.alerts ? { alerts: opts.alerts } : {}) });
  workerRoutes(app, deps);
  jobLogRoutes(app, deps);
  jobActionRoutes(app, deps);
  if (opts.schedules) scheduleRoutes(app, opts.schedules, opts.webhooks);
  eventsInRoutes(app, deps, opts.ingest ?? null);
  templateRoutes(app, deps);
  eventRoutes(app, deps);
  if (opts.webhooks) webhookRoutes(app, deps, opts.webhooks);
  if (opts.alerts) alertRoutes(app, opts.alerts);
  if (opts.ui !== false) uiRoutes(app, opts.ui);
  return app as unknown as FastifyInstance;
}
