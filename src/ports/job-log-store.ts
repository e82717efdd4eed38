import type { LogLine, NewLogLine } from '../domain/job-log.js';

export interface LogQuery {
  /** Lines after this id (0: from the first). */
  after: number;
  /** Only this attempt's lines. */
  attempt?: number;
  /** Only lines at this level number or above (pino's: 30 info, 40 warn...). */
  minLevel?: number;
  limit: number;
}

export interface LogPage {
  /** In the order they were written. */
  lines: LogLine[];
  /** How many of the job's lines were dropped to keep it under its cap, all attempts together. */
  dropped: number;
}

/**
 * Job logs (docs/logs.md), in a table of their own beside the jobs (the `job_logs` migration): no
 * write here touches the jobs table, and a job that logs nothing costs nothing. Every adapter passes
 * test/conformance/job-log-store-conformance.ts.
 */
export interface JobLogStore {
  /**
   * Appends lines of any jobs in one transaction. A job whose log passes `capBytes` loses its
   * oldest lines (down to 90 % of the cap), and the count of lines dropped grows.
   */
  append(lines: readonly NewLogLine[], capBytes: number): Promise<void>;
  read(jobId: string, query: LogQuery): Promise<LogPage>;
  /** Forgets the logs of these jobs (purge, retention); returns how many lines went. */
  delete(jobIds: readonly string[]): Promise<number>;
}
