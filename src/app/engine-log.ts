import type { Logger } from 'pino';
import type { Alert } from '../domain/alerts.js';
import type { LifecycleEvent } from '../services/lifecycle.js';
import type { RecoveryEvent } from '../services/recovery-events.js';
import type { Docket } from './docket.js';

/**
 * The engine's changes an operator reads in the server's log (docs/logs.md#the-servers-log), each
 * logged where it happens, once, in the process that makes it:
 *
 * - a job dead-lettered (running -> failed, blocked -> failed): error, with its id, queue, type,
 *   tenant, attempts and reason. Every path that fails a job for good goes through
 *   `Transitions.apply`, whose lifecycle this hears for `failed` only (no cost on completions);
 * - a recovery condition opening (jobs park) and reopening: warn; clearing (its parked jobs are
 *   released), closing and probes: info; jobs given up after the longest park: warn;
 * - an alert firing: warn; resolving: info (the leader's evaluator).
 *
 * Failed requests (5xx) are logged by the HTTP layer (interfaces/http/failed-requests.ts).
 * Returns what stops the logging.
 */
export function logEngineChanges(docket: Docket, log: Logger): () => void {
  const stops = [
    docket.jobs.transitions.lifecycle.on((e) => deadLettered(log, e), ['failed']),
    docket.jobs.parking.events.on((e) => recovery(log, e)),
    docket.alerts?.evaluator.onChange((a) => alert(log, a)) ?? (() => {}),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

function deadLettered(log: Logger, { job, cause }: LifecycleEvent): void {
  const error = job.errors.at(-1)?.message;
  const reason = job.stateReason ?? cause;
  log.error(
    { jobId: job.id, queue: job.queue, type: job.type, tenant: job.tenant, attempts: job.attempt, maxAttempts: job.maxAttempts, reason, ...(error !== undefined ? { error } : {}) },
    `job dead-lettered (${reason}): ${error ?? 'no error recorded'}`,
  );
}

function recovery(log: Logger, e: RecoveryEvent): void {
  const { condition } = e;
  switch (e.type) {
    case 'opened':
      return log.warn({ condition, queue: e.queue, type: e.jobType, error: e.error }, `recovery condition ${condition} opened: jobs that hit it are parked until a probe succeeds (${e.error})`);
    case 'probe':
      return log.info({ condition, jobId: e.jobId }, `recovery condition ${condition}: probing with one parked job`);
    case 'probe_failed':
      return log.info({ condition, jobId: e.jobId }, `recovery condition ${condition}: the probe hit it again; next probe after backoff`);
    case 'cleared':
      return log.info({ condition }, `recovery condition ${condition} cleared: releasing its parked jobs`);
    case 'reopened':
      return log.warn({ condition }, `recovery condition ${condition} reopened: a released job hit it again; releasing stopped`);
    case 'exhausted':
      return log.warn({ condition, jobs: e.jobs }, `recovery condition ${condition}: ${e.jobs} jobs parked too long were failed`);
    case 'closed':
      return log.info({ condition, reason: e.reason }, `recovery condition ${condition} closed (${e.reason})`);
  }
}

function alert(log: Logger, a: Alert): void {
  const fields = { alertId: a.id, rule: a.rule, kind: a.kind, queue: a.queue, value: a.value, threshold: a.threshold };
  if (a.state === 'firing') log.warn(fields, `alert ${a.rule} firing: ${a.message}`);
  else log.info(fields, `alert ${a.rule} resolved: ${a.message}`);
}
