import type { Backoff } from '../../domain/backoff.js';
import type { Job, Json } from '../../domain/job.js';
import { carrierFromText } from '../../domain/trace-context.js';
import type { LoggedRow } from './event-batches.js';
import { SELF_LINK, STORED_DEFAULT_BACKOFF } from './rows.js';

/**
 * The wire form of a claim (docs/design/hot-path-embedded.md, W): SQLite writes the claimed batch
 * as one JSON text, the JSON columns embedded as JSON, and one JSON.parse makes the jobs, so
 * better-sqlite3 builds no row object per job. Measured by the prototypes: 17.5 -> 13.5 us of CPU
 * per claimed and completed job (the row objects of the claim and of the spec read cost more than
 * SQLite's JSON writer and one parse).
 */

/**
 * The batch just claimed: the jobs of @leases (job id -> lease token) that now hold their lease
 * from this claim (@now). One array per job, in the order of `WireJob`.
 */
export const CLAIMED_WIRE = `SELECT json_group_array(json_array(h.id, h.tenant, h.queue, s.type, json(s.payload), h.priority, json(s.labels),
    h.run_at, h.expires_at, s.timeout_ms, s.max_attempts, h.attempt, json(coalesce(s.backoff, '${STORED_DEFAULT_BACKOFF}')), CASE s.link_id WHEN '${SELF_LINK}' THEN h.id ELSE s.link_id END,
    s.resubmitted_from, s.created_at, h.condition, s.template_id, s.template_version, h.state_reason, s.trace_context))
  FROM json_each(@leases) c JOIN jobs_hot h ON h.id = c.key JOIN job_specs s ON s.id = h.id
  WHERE h.state = 'running' AND h.started_at = @now AND h.lease_token = c.value`;

type WireJob = [
  id: string, tenant: string, queue: string, type: string, payload: Json, priority: number, labels: Record<string, string>,
  runAt: number, expiresAt: number | null, timeoutMs: number | null, maxAttempts: number, attempt: number, backoff: Backoff,
  linkId: string, resubmittedFrom: string | null, createdAt: number, condition: string | null, templateId: string | null,
  templateVersion: number | null, stateReason: string | null, traceContext: string | null,
];

export interface Lease {
  leaseToken: string;
  leaseExpiresAt: number;
  workerId: string;
  now: number;
}

/** The jobs of CLAIMED_WIRE's text, by id, and what the batch's event row keeps of each. */
export function claimedOf(text: string, leases: ReadonlyMap<string, string>, lease: Omit<Lease, 'leaseToken'>): { jobs: Map<string, Job>; logged: LoggedRow[] } {
  const wire = JSON.parse(text) as WireJob[];
  const jobs = new Map<string, Job>();
  const logged: LoggedRow[] = [];
  for (const w of wire) {
    const job = jobOf(w, lease, leases.get(w[0])!);
    jobs.set(job.id, job);
    logged.push({ id: job.id, tenant: job.tenant, attempt: job.attempt, run_at: job.runAt, worker_id: lease.workerId, condition: job.condition, state_reason: w[19] });
  }
  return { jobs, logged };
}

/** A claimed job as a handler gets it: without its history (errors, result, progress), as toClaimedJob (sql/job-rows.ts) makes it. */
function jobOf(w: WireJob, lease: Omit<Lease, 'leaseToken'>, leaseToken: string): Job {
  return {
    id: w[0],
    tenant: w[1],
    queue: w[2],
    type: w[3],
    payload: w[4],
    priority: w[5],
    labels: w[6],
    state: 'running',
    stateReason: null,
    runAt: w[7],
    expiresAt: w[8],
    timeoutMs: w[9],
    maxAttempts: w[10],
    attempt: w[11],
    backoff: w[12],
    linkId: w[13],
    resubmittedFrom: w[14],
    leaseToken,
    leaseExpiresAt: lease.leaseExpiresAt,
    workerId: lease.workerId,
    progress: null,
    condition: w[16],
    blockedAt: null,
    result: undefined,
    errors: [],
    createdAt: w[15],
    updatedAt: lease.now,
    startedAt: lease.now,
    finishedAt: null,
    templateId: w[17],
    templateVersion: w[18],
    ...traceOf(w[20]),
  };
}

// Most jobs carry none: nothing is parsed or spread for them (as sql/job-rows.ts).
function traceOf(text: string | null): { traceContext?: Job['traceContext'] } {
  const traceContext = text ? carrierFromText(text) : undefined;
  return traceContext ? { traceContext } : {};
}
