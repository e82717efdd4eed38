import { JOB_STATES, type JobState } from '../../domain/states.js';
import type { JobFilter } from '../../ports/store.js';

/**
 * What the two engines spell differently in a list filter. Values are bound positionally in
 * both (`?` on SQLite, `$n` on PostgreSQL), so a clause is built by appending its values.
 */
export interface FilterDialect {
  /** The placeholder of the value just appended to `params` (params.length is its 1-based number). */
  placeholder(n: number): string;
  /** The clauses selecting jobs that carry every one of these labels. */
  labels(labels: Readonly<Record<string, string>>, bind: (value: unknown) => string): string[];
  /** The clause selecting jobs with an error message containing `text` (any case, `%` and `_` literal). */
  errorText(text: string, bind: (value: unknown) => string): string;
  /** The clause selecting the jobs of a link: the job `linkId` itself and the ones linked to it. */
  linkId(linkId: string, bind: (value: unknown) => string): string;
  /** The clause selecting jobs whose payload field at `path` reads as `value` (strings as they are, numbers as written). */
  payloadField(path: readonly string[], value: string, bind: (value: unknown) => string): string;
}

export interface Where {
  /** `WHERE a AND b`, or '' without conditions. */
  sql: string;
  params: unknown[];
}

/** The WHERE clause of a job filter, with `more` (e.g. a cursor) appended by the caller through `bind`. */
export function whereOf(dialect: FilterDialect, filter: JobFilter, more?: (bind: (value: unknown) => string) => string): Where {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown) => dialect.placeholder(params.push(value));
  const add = (sql: string, value: unknown) => {
    if (value !== undefined) clauses.push(`${sql} ${bind(value)}`);
  };
  add('tenant =', filter.tenant);
  add('queue =', filter.queue);
  add('state =', filter.state);
  add('type =', filter.type);
  if (filter.linkId !== undefined) clauses.push(dialect.linkId(filter.linkId, bind));
  add('worker_id =', filter.workerId);
  add('template_id =', filter.templateId);
  add('condition =', filter.condition);
  if (filter.labels && Object.keys(filter.labels).length > 0) clauses.push(...dialect.labels(filter.labels, bind));
  add('created_at >=', filter.createdAfter);
  add('created_at <', filter.createdBefore);
  add('finished_at >=', filter.finishedAfter);
  add('finished_at <', filter.finishedBefore);
  if (filter.errorText !== undefined) clauses.push(dialect.errorText(filter.errorText, bind));
  if (filter.payload !== undefined) clauses.push(dialect.payloadField(filter.payload.path, filter.payload.value, bind));
  if (more) clauses.push(more(bind));
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

/** One page of jobs, newest first, read from `columns`; asks one row more than `limit` to know whether another page follows. */
export function listJobsQuery(dialect: FilterDialect, columns: string, filter: JobFilter, limit: number, after?: string): Where {
  const where = whereOf(dialect, filter, after === undefined ? undefined : (bind) => `id < ${bind(after)}`);
  const sql = `SELECT ${columns} FROM jobs ${where.sql} ORDER BY id DESC LIMIT ${dialect.placeholder(where.params.push(limit + 1))}`;
  return { sql, params: where.params };
}

export function countByStateQuery(dialect: FilterDialect, filter: Pick<JobFilter, 'tenant' | 'queue'>): Where {
  const where = whereOf(dialect, filter);
  return { sql: `SELECT state, count(*) AS n FROM jobs ${where.sql} GROUP BY state`, params: where.params };
}

export function countByQueueQuery(dialect: FilterDialect, filter: Pick<JobFilter, 'tenant'>): Where {
  const where = whereOf(dialect, filter);
  return { sql: `SELECT queue, state, count(*) AS n FROM jobs ${where.sql} GROUP BY queue, state`, params: where.params };
}

/** The rows of countByStateQuery as a count per state, zero for the states no job is in. */
export function stateCounts(rows: readonly { state: JobState; n: number }[]): Record<JobState, number> {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}
