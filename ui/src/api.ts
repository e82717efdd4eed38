import { session, signOut } from './session';

/** An RFC 9457 problem from the API, or one made up for a network failure. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail || problem.title);
  }
}

/** One API call with the session's token; a non-2xx reply throws ApiError carrying its problem. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const s = session();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  } catch (err) {
    throw new ApiError({ title: 'Network error', status: 0, detail: `the server did not answer (${(err as Error).message}); is docket server running?` });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: described below */
  }
  if (!res.ok) {
    const p = (json ?? {}) as Partial<Problem>;
    const problem: Problem = {
      title: p.title ?? res.statusText ?? 'Error',
      status: res.status,
      detail: p.detail ?? (text.slice(0, 300) || `HTTP ${res.status}`),
      ...(p.type ? { type: p.type } : {}),
      ...(p.errors ? { errors: p.errors } : {}),
    };
    // An expired or revoked token: back to the sign-in page, which shows why.
    if (res.status === 401 && s) {
      lastSignOutReason = problem.detail;
      signOut();
    }
    throw new ApiError(problem);
  }
  return json as T;
}

/** Why the session ended, shown once by the sign-in page. */
let lastSignOutReason = '';

export function takeSignOutReason(): string {
  const reason = lastSignOutReason;
  lastSignOutReason = '';
  return reason;
}

export function query(params: Record<string, string | number | undefined | null | false>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
