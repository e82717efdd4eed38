import { dedupClaimOf, redirectDependencies, type DedupClaim, type DedupRule } from '../../domain/dedup.js';
import type { Job, Json } from '../../domain/job.js';
import type { NewLogEvent } from '../../ports/event-log.js';
import type { IdempotencyRecord, Store } from '../../ports/store.js';
import type { PlannedRow } from './new-job.js';

/**
 * The dedup step of a submit (docs/jobs.md#deduplication), between validation and publishing:
 * which jobs claim a key, and the one store transaction that takes the keys and inserts the jobs
 * whose keys were free. Kept apart from the submitter so a submit without keys pays nothing but a scan
 * of its inputs.
 */

/** One job of a submit as answered: created, or the job that already held its key. */
export interface Submitted {
  job: Job;
  deduplicated: boolean;
}

/**
 * The claim of each job, or null when no job of the submit claims a key (then nothing more is done:
 * the hot path). `inputs[i]` was validated into `rows[i]`; the job's own `dedupKey` is read from the
 * input (a template holds none), the rest from the row.
 */
export function claimsOf(inputs: readonly unknown[], rows: readonly PlannedRow[], rules: readonly DedupRule[], now: number): (DedupClaim | null)[] | null {
  if (rules.length === 0 && !inputs.some((i) => typeof i === 'object' && i !== null && 'dedupKey' in i)) return null;
  const claims = rows.map(({ row, payload }, i) => {
    const own = (inputs[i] ?? {}) as { dedupKey?: string; dedupTtlSeconds?: number };
    return dedupClaimOf(
      { type: row.type, queue: row.queue, payload, labels: row.labels, priority: row.priority, dedupKey: own.dedupKey ?? null, dedupTtlSeconds: own.dedupTtlSeconds ?? null },
      rules,
      now,
    );
  });
  return claims.some((c) => c !== null) ? claims : null;
}

export interface DedupResult {
  /** The idempotency key was taken by an earlier request: nothing was written. */
  earlier: IdempotencyRecord | null;
  /** Per job, in order. */
  submitted: Submitted[];
  /** The rows inserted (to publish). */
  created: PlannedRow[];
  /** One `deduplicated` event per job answered with an existing one. */
  events: NewLogEvent[];
}

/**
 * Takes the keys and inserts the jobs whose keys were free, in one transaction. Two jobs of one
 * submit with the same key: the later one is answered with whatever the first one got.
 * `render` builds the idempotency record's response from the outcome, inside the transaction.
 */
export async function insertDeduplicated(
  store: Store,
  rows: readonly PlannedRow[],
  claims: readonly (DedupClaim | null)[],
  view: (r: PlannedRow) => Job,
  now: number,
  idempotency?: { record: IdempotencyRecord; render(submitted: Submitted[]): { status: number; response: string } },
): Promise<DedupResult> {
  const firstWith = new Map<string, number>();
  /** For each row, the earlier row of this submit with its key, or -1. */
  const sameAs = claims.map((c, i) => {
    if (!c) return -1;
    const first = firstWith.get(c.key);
    if (first === undefined) firstWith.set(c.key, i);
    return first ?? -1;
  });
  const sent = rows.map((_, i) => i).filter((i) => sameAs[i] === -1);
  const answer = (existing: readonly (Job | null)[]): Submitted[] => {
    const byRow = new Map(sent.map((i, n) => [i, existing[n] ?? null]));
    const own = rows.map((r, i): Submitted => {
      const held = byRow.get(i);
      return held ? { job: held, deduplicated: true } : { job: view(r), deduplicated: false };
    });
    return own.map((s, i) => (sameAs[i] === -1 ? s : { job: own[sameAs[i]!]!.job, deduplicated: true }));
  };
  const render = idempotency ? (existing: readonly (Job | null)[]) => idempotency.render(answer(existing)) : undefined;
  const aliases = new Map(rows.flatMap((r, i) => (sameAs[i] === -1 ? [] : [[r.row.id, rows[sameAs[i]!]!.row.id] as const])));
  const sentRows = redirectDependencies(sent.map((i) => rows[i]!.row), aliases);
  const out = await store.insertJobsDeduplicated(sentRows, sent.map((i) => claims[i] ?? null), idempotency?.record, render);
  if (out.earlier) return { earlier: out.earlier, submitted: [], created: [], events: [] };
  const submitted = answer(out.existing);
  const created = sent.filter((_, n) => out.existing[n] === null).map((i) => rows[i]!);
  const events = submitted.flatMap((s, i) => (s.deduplicated ? [deduplicatedEvent(s.job, claims[i]!, now)] : []));
  return { earlier: null, submitted, created, events };
}

/** The `deduplicated` job event: the data of the other job events (docs/events.md), of the job that held the key. */
export function deduplicatedEvent(job: Job, claim: DedupClaim, at: number): NewLogEvent {
  return {
    topic: 'job-events',
    key: job.id,
    tenant: job.tenant,
    linkId: job.linkId,
    type: 'deduplicated',
    at,
    data: {
      jobId: job.id,
      queue: job.queue,
      jobType: job.type,
      state: job.state,
      previousState: null,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      priority: job.priority,
      reason: job.stateReason,
      workerId: job.workerId,
      condition: job.condition,
      runAt: job.runAt,
      error: job.state === 'retrying' || job.state === 'blocked' ? (job.errors.at(-1)?.message ?? null) : null,
      progress: (job.progress as Json) ?? null,
      dedupKey: claim.key,
    },
  };
}
