import { levelName, storedLine, TRIM_TO_SHARE, type LogLine, type NewLogLine } from '../../domain/job-log.js';
import type { Json } from '../../domain/job.js';

/** A job_logs row as both SQL engines return it (BIGINT ids and times parsed as numbers). */
export interface LogRow {
  id: number | string;
  job_id: string;
  attempt: number;
  at: number | string;
  level: number;
  message: string;
  fields: string | null;
}

export function toLogLine(r: LogRow): LogLine {
  return {
    id: Number(r.id),
    jobId: r.job_id,
    attempt: r.attempt,
    at: Number(r.at),
    level: levelName(r.level),
    message: r.message,
    ...(r.fields !== null ? { fields: JSON.parse(r.fields) as Record<string, Json> } : {}),
  };
}

/** Lines as rows to insert, and the bytes each job gains (jobs sorted: locks are taken in id order). */
export function rowsToAppend(lines: readonly NewLogLine[]): { rows: { line: NewLogLine; fields: string | null; bytes: number }[]; gains: [string, number][] } {
  const gains = new Map<string, number>();
  const rows = lines.map((l) => {
    const s = storedLine(l);
    gains.set(l.jobId, (gains.get(l.jobId) ?? 0) + s.bytes);
    return { line: s.line, fields: s.fieldsJson, bytes: s.bytes };
  });
  return { rows, gains: [...gains].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** The size a log over its cap is trimmed to. */
export function trimTarget(capBytes: number): number {
  return Math.floor(capBytes * TRIM_TO_SHARE);
}
