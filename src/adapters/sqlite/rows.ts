import type Database from 'better-sqlite3';
import type { JobPatch, NewJob } from '../../ports/store.js';
import type { FilterDialect } from '../sql/job-filters.js';

/** How SQLite spells what the shared list filters leave to each engine. */
export const SQLITE_FILTERS: FilterDialect = {
  placeholder: () => '?',
  // The label name is bound as a JSON path, never spliced into the SQL.
  labels: (labels, bind) => Object.entries(labels).map(([name, value]) => `json_extract(labels, ${bind(`$."${name.replace(/"/g, '')}"`)}) = ${bind(value)}`),
  // SQLite's own LIKE and lower() fold ASCII letters only: docket_icontains (sqlite-store.ts) folds any letter.
  errorText: (text, bind) =>
    "jobs.errors <> '[]' AND EXISTS (SELECT 1 FROM json_each(jobs.errors) e" +
    ` WHERE docket_icontains(json_extract(e.value, '$.message'), ${bind(text.toLowerCase())}))`,
  // Keys are bound as a JSON path, never spliced into the SQL; text of a number is as JSON writes it.
  // job_specs keeps an empty link_id for a job linked to itself (0017_self_link): the primary key
  // serves that case, the partial job_specs_link index (link_id <> '', spelled so SQLite matches
  // it) the others. `link_ref` is the stored column, as the view passes it on.
  linkId: (linkId, bind) => `((id = ${bind(linkId)} AND link_ref = '') OR (link_ref = ${bind(linkId)} AND link_ref <> ''))`,
  payloadField: (path, value, bind) => `CAST(json_extract(payload, ${bind(`$${path.map((k) => `."${k.replace(/"/g, '')}"`).join('')}`)}) AS TEXT) = ${bind(value)}`,
};

/** Column and bound value for each patch field. JSON fields are serialized here. */
export const PATCH_COLUMNS: { [K in keyof JobPatch]-?: { sql: string; value: (v: NonNullable<JobPatch[K]> | null) => unknown } } = {
  stateReason: { sql: 'state_reason = @stateReason', value: (v) => v },
  runAt: { sql: 'run_at = @runAt', value: (v) => v },
  attempt: { sql: 'attempt = @attempt', value: (v) => v },
  leaseToken: { sql: 'lease_token = @leaseTokenNew', value: (v) => v },
  leaseExpiresAt: { sql: 'lease_expires_at = @leaseExpiresAt', value: (v) => v },
  workerId: { sql: 'worker_id = @workerId', value: (v) => v },
  result: { sql: 'result = @result', value: (v) => JSON.stringify(v) },
  error: { sql: "errors = json_insert(errors, '$[#]', json(@error))", value: (v) => JSON.stringify(v) },
  progress: { sql: 'progress = @progress', value: (v) => (v === null ? null : JSON.stringify(v)) },
  condition: { sql: 'condition = @condition', value: (v) => v },
  blockedAt: { sql: 'blocked_at = @blockedAt', value: (v) => v },
  startedAt: { sql: 'started_at = @startedAt', value: (v) => v },
  finishedAt: { sql: 'finished_at = @finishedAt', value: (v) => v },
};

/**
 * The default backoff as job_specs leaves it out (NULL) and the `jobs` view puts it back: the
 * same text as in migrations/0016_hot_path.sql. A job whose policy is spelled otherwise (another
 * default one day included) stores its own; ~70 bytes less per job that takes the default.
 */
export const STORED_DEFAULT_BACKOFF = '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}';

/**
 * The link id job_specs stores for a job linked to itself (migrations/0017_self_link.sql): empty,
 * which SQLite stores in no bytes; the `jobs` view and the claim's wire form read the job's id back.
 */
export const SELF_LINK = '';

/** Inserts `j` with Q.INSERT_HOT and Q.INSERT_SPEC (`hot`, `spec`): their parameters, in their order. */
export function insertJobRow(hot: Database.Statement, spec: Database.Statement, j: NewJob): void {
  hot.run(j.id, j.tenant, j.queue, j.priority, j.state, j.runAt, j.expiresAt, j.createdAt);
  const backoff = JSON.stringify(j.backoff);
  spec.run(
    j.id, j.type, j.payloadJson, labelsText(j.labels), j.timeoutMs, j.maxAttempts, backoff === STORED_DEFAULT_BACKOFF ? null : backoff, j.linkId === j.id ? SELF_LINK : j.linkId,
    j.resubmittedFrom, j.createdAt, j.templateId ?? null, j.templateVersion ?? null, j.callbackUrl ?? null, j.traceContext ?? null,
  );
}

// Most jobs have no labels: their text is known without stringifying.
function labelsText(labels: Record<string, string>): string {
  for (const _ in labels) return JSON.stringify(labels);
  return '{}';
}
