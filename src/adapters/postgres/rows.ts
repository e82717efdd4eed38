import pg from 'pg';
import type { NewJob } from '../../ports/store.js';
import type { FilterDialect } from '../sql/job-filters.js';

const INT8 = 20;
const JSON_OID = 114;

/**
 * Type parsers passed with every query of this adapter (not set on the global pg.types, which
 * other code in the process shares). BIGINT holds epoch ms and counts, all below 2^53, so a
 * Number is exact. `json` columns come back as their text so that a JSON `null` result stays
 * distinguishable from SQL NULL (no result); rows.ts parses them.
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8) return Number;
    if (oid === JSON_OID) return (text: string) => text;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** How PostgreSQL spells what the shared list filters leave to each engine. */
export const POSTGRES_FILTERS: FilterDialect = {
  placeholder: (n) => `$${n}`,
  // Containment: the job carries every one of these labels (a GIN index on labels would serve it).
  labels: (labels, bind) => [`labels @> ${bind(JSON.stringify(labels))}`],
  // Compared as text (no pattern: '%' and '_' are literal); lower() folds any letter under the database's ctype.
  errorText: (text, bind) =>
    `errors <> '[]'::jsonb AND EXISTS (SELECT 1 FROM jsonb_array_elements(errors) e WHERE strpos(lower(e->>'message'), lower(${bind(text)})) > 0)`,
  // payload is json (kept verbatim): read as jsonb for the path; #>> gives the field as text.
  // Spelled so that two indexes serve it: the primary key for a job linked to itself (the
  // default), the partial jobs_link index (link_id <> id) for the others.
  linkId: (linkId, bind) => `((id = ${bind(linkId)} AND link_id = ${bind(linkId)}) OR (link_id = ${bind(linkId)} AND link_id <> id))`,
  payloadField: (path, value, bind) => `(payload::jsonb #>> ${bind([...path])}::text[]) = ${bind(value)}`,
};

/** The arrays of Q.INSERT_JOBS (one per column) for `jobs`. */
export function insertArrays(jobs: readonly NewJob[]): unknown[][] {
  const cols: unknown[][] = Array.from({ length: 20 }, () => new Array(jobs.length));
  jobs.forEach((j, i) => {
    const values = [j.id, j.tenant, j.queue, j.type, j.payloadJson, j.priority, JSON.stringify(j.labels), j.state, j.runAt,
      j.expiresAt, j.timeoutMs, j.maxAttempts, JSON.stringify(j.backoff), j.linkId, j.resubmittedFrom, j.createdAt,
      j.templateId ?? null, j.templateVersion ?? null, j.callbackUrl ?? null, j.traceContext ?? null];
    values.forEach((v, c) => (cols[c]![i] = v));
  });
  return cols;
}
