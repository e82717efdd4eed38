import type { Static } from '@sinclair/typebox';
import { activeCarrier } from '../tracing/spans.js';
import type { JobInput } from '../domain/job-input.js';
import type { Json } from '../domain/job.js';
import type { JobOptions } from '../domain/job-options.js';
import type { JobState } from '../domain/states.js';
import type { Problem } from '../interfaces/http/problem.js';
import type {
  ClaimBody,
  ClaimedJobView,
  ConditionView,
  DependenciesReply,
  FailBody,
  HeartbeatReply,
  JobView,
  ProgressReply,
  QueueView,
  ReadyReply,
  RegisterBody,
  WorkersQuery,
  WorkersReply,
  WorkerView,
} from '../interfaces/http/schemas.js';
import { SchedulesClient } from './schedules-client.js';
import { TemplatesClient } from './templates-client.js';
import { WebhooksClient } from './webhooks-client.js';
import { readEventStream, streamQuery, type StreamOptions } from './event-stream.js';
import { logQuery, readLogStream, type LogLineInfo, type LogOptions, type LogPageInfo } from './log-stream.js';
import type { EventEnvelope } from '../ports/event-bus.js';
import type { EventBody, EventReply } from '../interfaces/http/routes/events-in.js';

/** Queue lists up to this long (encoded) go in the claim's path, which every server version knows. */
const SHORT_QUEUE_PATH = 512;

export type { ClaimedJobView, JobView, Problem };
export type QueueInfo = Static<typeof QueueView>;
export type DependenciesView = Static<typeof DependenciesReply>;
export type ConditionInfo = Static<typeof ConditionView>;
export type WorkerInfoView = Static<typeof WorkerView>;
/** Filters of `GET /v1/workers`. */
export type WorkersFilter = Static<typeof WorkersQuery>;
export type Readiness = Static<typeof ReadyReply>;
export type WorkerRegistration = Static<typeof RegisterBody>;
export type ClaimOptions = Omit<Static<typeof ClaimBody>, 'workerId'>;
export type FailOptions = Omit<Static<typeof FailBody>, 'leaseToken'>;
/** A business event for POST /v1/events (CloudEvents-style; `specversion` and `time` optional). */
/** A CloudEvent to submit; `specversion` is filled in ("1.0") when left out. */
export type EventInput = Omit<Static<typeof EventBody>, 'specversion'> & { specversion?: '1.0' };
/** The jobs the ingest rules made of an event (or found made already: `deduplicated`). */
export type EventResult = Static<typeof EventReply>;

export interface ClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Bearer token (JWT) sent on every request; `docket token` mints one. */
  token?: string;
  /** Admins only: act for this tenant (the docket-tenant header). */
  tenant?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Injected for tests or custom agents. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

export interface ListFilter {
  queue?: string;
  state?: JobState;
  type?: string;
  linkId?: string;
  /** Jobs created from this template. */
  templateId?: string;
  /** Jobs carrying every one of these labels. */
  labels?: Record<string, string>;
  /** Admins only: one tenant's jobs. */
  tenant?: string;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  /** 1 to 500. @defaultValue 50 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface DeadLetterFilter {
  queue?: string;
  type?: string;
  tenant?: string;
  /** Text any error message of the job contains. */
  error?: string;
  failedAfter?: Date | string;
  failedBefore?: Date | string;
}

export type DeadLetterSelection = { ids: string[] } | { filter: DeadLetterFilter; max?: number };

function selectionBody(s: DeadLetterSelection): unknown {
  if ('ids' in s) return { ids: s.ids };
  const filter = Object.fromEntries(Object.entries(s.filter).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));
  return { filter, ...(s.max !== undefined ? { max: s.max } : {}) };
}

export interface SubmitOptions {
  /** A retry with the same key and body returns the first response and creates nothing. */
  idempotencyKey?: string;
}

/** A job as the API shows it, with its payload and result typed as `P` and `R`. */
export type JobReply<P = Json, R = Json> = Omit<JobView, 'payload' | 'result'> & { payload: P; result?: R };

export interface JobPageView {
  jobs: JobView[];
  nextCursor: string | null;
}

/** A non-2xx reply. `problem` is the RFC 9457 body when the server sent one. */
export class DocketApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    /** Seconds to wait before retrying, from a 429's Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'DocketApiError';
  }
}

const enc = encodeURIComponent;

/** Typed client of every endpoint of the Docket REST API. Times in replies are ISO 8601 strings. */
export class DocketClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;
  /** Cron schedules: create, preview, list, get, update, pause, resume, delete (docs/schedules.md). */
  readonly schedules = new SchedulesClient(this);
  /** Job templates: create, version, read, retire, delete (docs/templates.md). */
  readonly templates = new TemplatesClient(this);
  /** Webhook subscriptions and their delivery logs (docs/webhooks.md). */
  readonly webhooks = new WebhooksClient(this);

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.headers = {
      accept: 'application/json, application/problem+json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.tenant ? { 'docket-tenant': options.tenant } : {}),
      ...options.headers,
    };
  }

  // ---- jobs ----

  /**
   * Submits a job: a misspelt field or a wrong type is a compile error, and the server validates
   * every input and names the bad fields in the DocketApiError. `P` types the payload:
   * `submit<{ to: string }>({ type: 'email', payload: { to } })`. `deduplicated: true` in the reply:
   * a job holding the same dedup key existed, it is returned and nothing was created
   * (docs/jobs.md#deduplication).
   */
  async submit<P = Json>(input: JobOptions<P>, options: SubmitOptions = {}): Promise<JobReply<P>> {
    return this.request<JobReply<P>>('POST', '/v1/jobs', input, undefined, idempotency(options));
  }

  /** Up to 1000 jobs, stored all or none; each with its `deduplicated` flag. */
  async submitBulk<P = Json>(inputs: readonly JobOptions<P>[], options: SubmitOptions = {}): Promise<JobReply<P>[]> {
    return (await this.request<{ jobs: JobReply<P>[] }>('POST', '/v1/jobs/bulk', { jobs: inputs }, undefined, idempotency(options))).jobs;
  }

  /** A job; `P` and `R` type its payload and result (not checked at run time). */
  async get<P = Json, R = Json>(id: string): Promise<JobReply<P, R>> {
    return this.request<JobReply<P, R>>('GET', `/v1/jobs/${enc(id)}`);
  }

  /** Newest first. Pass `nextCursor` back as `cursor` for the next page. */
  async list(filter: ListFilter = {}): Promise<JobPageView> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value === undefined) continue;
      if (key === 'labels') for (const [name, v] of Object.entries(value as Record<string, string>)) query.append('label', `${name}=${v}`);
      else query.set(key, value instanceof Date ? value.toISOString() : String(value));
    }
    const qs = query.toString();
    return this.request<JobPageView>('GET', `/v1/jobs${qs ? `?${qs}` : ''}`);
  }

  /** Every page of a listing, one job at a time. */
  async *listAll(filter: Omit<ListFilter, 'cursor'> = {}): AsyncIterable<JobView> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...filter, ...(cursor ? { cursor } : {}) });
      yield* page.jobs;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  async cancel(id: string): Promise<JobView> {
    return this.request<JobView>('POST', `/v1/jobs/${enc(id)}/cancel`);
  }

  /** A finished job again, as a new job with the same linkId and `resubmittedFrom` set. */
  async resubmit(id: string): Promise<JobView> {
    return this.request<JobView>('POST', `/v1/jobs/${enc(id)}/resubmit`);
  }

  async progress(id: string): Promise<Static<typeof ProgressReply>> {
    return this.request('GET', `/v1/jobs/${enc(id)}/progress`);
  }

  /** A job's dependencies with their state and result, and its dependents (docs/dependencies.md). */
  async dependencies(id: string): Promise<DependenciesView> {
    return this.request<DependenciesView>('GET', `/v1/jobs/${enc(id)}/dependencies`);
  }

  // ---- events in ----

  /**
   * Feeds one event to the server's ingest rules (docs/ingestion.md): the jobs they make, created
   * or found made already. Sending the same `id` again creates nothing new. An event no rule takes,
   * or that breaks one, is a DocketApiError 422 whose problem names the event's fields.
   */
  async submitEvent(event: EventInput): Promise<EventResult> {
    return this.request<EventResult>('POST', '/v1/events', { specversion: '1.0', ...event });
  }

  // ---- queues ----

  async queues(): Promise<QueueInfo[]> {
    return (await this.request<{ queues: QueueInfo[] }>('GET', '/v1/queues')).queues;
  }

  async pauseQueue(queue: string): Promise<QueueInfo> {
    return this.request<QueueInfo>('POST', `/v1/queues/${enc(queue)}/pause`);
  }

  async resumeQueue(queue: string): Promise<QueueInfo> {
    return this.request<QueueInfo>('POST', `/v1/queues/${enc(queue)}/resume`);
  }

  // ---- dead letters and recovery conditions ----

  /** Failed jobs, newest first, with their error history. */
  async deadLetters(filter: DeadLetterFilter & { limit?: number; cursor?: string } = {}): Promise<JobPageView> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, value instanceof Date ? value.toISOString() : String(value));
    const qs = query.toString();
    return this.request<JobPageView>('GET', `/v1/dead-letters${qs ? `?${qs}` : ''}`);
  }

  async deadLetter(id: string): Promise<JobView> {
    return this.request<JobView>('GET', `/v1/dead-letters/${enc(id)}`);
  }

  /** Back to the queue with a fresh attempt budget: by ids, or every dead letter matching a filter. */
  async requeueDeadLetters(selection: DeadLetterSelection): Promise<{ requeued: number; ids: string[] }> {
    return this.request('POST', '/v1/dead-letters/requeue', selectionBody(selection));
  }

  async purgeDeadLetters(selection: DeadLetterSelection): Promise<{ purged: number }> {
    return this.request('POST', '/v1/dead-letters/purge', selectionBody(selection));
  }

  async conditions(): Promise<ConditionInfo[]> {
    return (await this.request<{ conditions: ConditionInfo[] }>('GET', '/v1/conditions')).conditions;
  }

  async condition(key: string): Promise<ConditionInfo> {
    return this.request<ConditionInfo>('GET', `/v1/conditions/${enc(key)}`);
  }

  /** release: parked jobs go back at the policy's throttled rate; drain: all at once; fail: all to the dead letters. */
  async actOnCondition(key: string, action: 'release' | 'drain' | 'fail'): Promise<{ key: string; status: string; released?: number; failed?: number }> {
    return this.request('POST', `/v1/conditions/${enc(key)}/${action}`);
  }

  // ---- the worker protocol (the Worker class runs it for you; these are the raw calls) ----

  async registerWorker(registration: WorkerRegistration): Promise<{ id: string }> {
    return this.request('POST', '/v1/workers', registration);
  }

  /** One page of workers, in id order, filtered (`GET /v1/workers`). */
  async workersPage(filter: WorkersFilter = {}): Promise<Static<typeof WorkersReply>> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    const qs = query.toString();
    return this.request('GET', `/v1/workers${qs ? `?${qs}` : ''}`);
  }

  /** Every worker matching `filter`, page after page. */
  async workers(filter: Omit<WorkersFilter, 'cursor' | 'limit'> = {}): Promise<WorkerInfoView[]> {
    const all: WorkerInfoView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.workersPage({ ...filter, limit: 1000, ...(cursor ? { cursor } : {}) });
      all.push(...page.workers);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return all;
  }

  async unregisterWorker(workerId: string): Promise<void> {
    await this.request('DELETE', `/v1/workers/${enc(workerId)}`);
  }

  /** Extends the leases of the jobs the worker holds; stop the ones in `lost`. */
  async heartbeat(workerId: string, jobs: { id: string; leaseToken: string }[]): Promise<Static<typeof HeartbeatReply>> {
    return this.request('POST', `/v1/workers/${enc(workerId)}/heartbeat`, { jobs });
  }

  /**
   * Long-polls up to `waitMs` for jobs on one or more queues (any number: a long list goes in the
   * body of `POST /v1/claims`, a short one in the path).
   */
  async claim(queues: string | readonly string[], workerId: string, options: ClaimOptions, signal?: AbortSignal): Promise<ClaimedJobView[]> {
    const names = typeof queues === 'string' ? [queues] : queues;
    const path = names.map(enc).join(',');
    const reply =
      path.length <= SHORT_QUEUE_PATH
        ? await this.request<{ jobs: ClaimedJobView[] }>('POST', `/v1/queues/${path}/claim`, { workerId, ...options }, signal)
        : await this.request<{ jobs: ClaimedJobView[] }>('POST', '/v1/claims', { queues: names, workerId, ...options }, signal);
    return reply.jobs;
  }

  async complete(id: string, leaseToken: string, result?: unknown): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${enc(id)}/complete`, { leaseToken, ...(result !== undefined ? { result } : {}) });
  }

  async fail(id: string, leaseToken: string, failure: FailOptions): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${enc(id)}/fail`, { leaseToken, ...failure });
  }

  async reportProgress(id: string, leaseToken: string, percent: number, message?: string): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${enc(id)}/progress`, { leaseToken, percent, ...(message !== undefined ? { message } : {}) });
  }

  /** Gives a running job back without counting the attempt. */
  async release(id: string, leaseToken: string): Promise<JobView> {
    return this.request('POST', `/v1/jobs/${enc(id)}/release`, { leaseToken });
  }

  // ---- health ----

  async health(): Promise<{ status: 'ok' }> {
    return this.request<{ status: 'ok' }>('GET', '/healthz');
  }

  /** Readiness of the server's engines; throws DocketApiError (503) when one does not answer. */
  async ready(): Promise<Readiness> {
    return this.request<Readiness>('GET', '/readyz');
  }

  /**
   * The live event stream (SSE, `GET /v1/events/stream`) of the caller's tenant: each event
   * envelope as it happens. Resumable: pass the last `id` received as `lastEventId`.
   *
   *   for await (const event of client.streamEvents({ types: ['docket.job.failed'], signal })) ...
   */
  async *streamEvents(options: StreamOptions = {}): AsyncGenerator<EventEnvelope> {
    const res = await this.fetch(`${this.baseUrl}/v1/events/stream${streamQuery(options)}`, {
      headers: { ...this.headers, accept: 'text/event-stream' },
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((err: unknown) => {
      if (options.signal?.aborted) return null;
      throw err;
    });
    if (!res) return;
    if (!res.ok || !res.body) throw new DocketApiError(res.status, parseProblem(await res.text(), res.status));
    yield* readEventStream(res.body, options.signal);
  }

  /** A page of a job's log (docs/logs.md): the lines its handler wrote, oldest first. */
  async logs(id: string, options: LogOptions = {}): Promise<LogPageInfo> {
    return this.request<LogPageInfo>('GET', `/v1/jobs/${enc(id)}/logs${logQuery(options)}`);
  }

  /**
   * A job's log lines as they are written (SSE, `GET /v1/jobs/:id/logs/stream`), from the first
   * (or after `cursor`); the iteration ends once the job has finished and its last line was given.
   */
  async *followLogs(id: string, options: Omit<LogOptions, 'limit'> & { signal?: AbortSignal } = {}): AsyncGenerator<LogLineInfo> {
    const { signal, ...query } = options;
    const res = await this.fetch(`${this.baseUrl}/v1/jobs/${enc(id)}/logs/stream${logQuery(query)}`, {
      headers: { ...this.headers, accept: 'text/event-stream' },
      ...(signal ? { signal } : {}),
    }).catch((err: unknown) => {
      if (signal?.aborted) return null;
      throw err;
    });
    if (!res) return;
    if (!res.ok || !res.body) throw new DocketApiError(res.status, parseProblem(await res.text(), res.status));
    yield* readLogStream(res.body, signal);
  }

  /** One call of the API. Throws DocketApiError for any non-2xx reply; 204 yields undefined. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, extraHeaders?: Record<string, string>): Promise<T> {
    // The caller's active trace context, so the jobs it submits join its trace (docs/tracing.md).
    const headers: Record<string, string> = { ...activeCarrier(), ...this.headers, ...extraHeaders };
    // No content-type without a body: the server rejects an empty JSON body.
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!res.ok) {
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      throw new DocketApiError(res.status, parseProblem(text, res.status), Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

function idempotency(options: SubmitOptions): Record<string, string> | undefined {
  return options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined;
}

function parseProblem(text: string, status: number): Problem | undefined {
  try {
    const body = JSON.parse(text) as Partial<Problem>;
    if (body && typeof body === 'object' && typeof body.detail === 'string') return body as Problem;
  } catch {
    // not JSON: a proxy's error page, say
  }
  const detail = text.trim().slice(0, 200);
  return detail ? { type: 'about:blank', title: `HTTP ${status}`, status, detail, instance: '' } : undefined;
}
