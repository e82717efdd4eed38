import type { JobInput } from '../domain/job-input.js';
import type { JobState } from '../domain/states.js';
import type { Problem } from '../interfaces/http/problem.js';
import type { JobView } from '../interfaces/http/schemas.js';

export type { JobView, Problem };

export interface ClientOptions {
  /** Server root, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Extra headers on every request (an Authorization header once auth lands). */
  headers?: Record<string, string>;
  /** Injected for tests or custom agents. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

export interface ListFilter {
  queue?: string;
  state?: JobState;
  type?: string;
  linkId?: string;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  /** 1 to 500. @defaultValue 50 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface JobPageView {
  jobs: JobView[];
  nextCursor: string | null;
}

/** A non-2xx reply. `problem` is the RFC 9457 body when the server sent one. */
export class DocketApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
    this.name = 'DocketApiError';
  }
}

/** Typed client of the Docket REST API. Times in replies are ISO 8601 strings. */
export class DocketClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * A record built at run time (the CLI's flags) is accepted as well: the server validates
   * every input and names the bad fields in the DocketApiError.
   */
  async submit(input: JobInput | Record<string, unknown>): Promise<JobView> {
    return this.request<JobView>('POST', '/v1/jobs', input);
  }

  /** Up to 1000 jobs, stored all or none. */
  async submitBulk(inputs: JobInput[]): Promise<JobView[]> {
    return (await this.request<{ jobs: JobView[] }>('POST', '/v1/jobs/bulk', { jobs: inputs })).jobs;
  }

  async get(id: string): Promise<JobView> {
    return this.request<JobView>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** Newest first. Pass `nextCursor` back as `cursor` for the next page. */
  async list(filter: ListFilter = {}): Promise<JobPageView> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value === undefined) continue;
      query.set(key, value instanceof Date ? value.toISOString() : String(value));
    }
    const qs = query.toString();
    return this.request<JobPageView>('GET', `/v1/jobs${qs ? `?${qs}` : ''}`);
  }

  async cancel(id: string): Promise<JobView> {
    return this.request<JobView>('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  async health(): Promise<{ status: 'ok' }> {
    return this.request<{ status: 'ok' }>('GET', '/healthz');
  }

  /** One call of the API. Throws DocketApiError for any non-2xx reply; 204 yields undefined. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...this.options.headers };
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
    if (!res.ok) throw new DocketApiError(res.status, parseProblem(text, res.status));
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
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
