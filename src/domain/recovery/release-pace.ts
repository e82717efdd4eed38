import { refill, type BucketState } from '../token-bucket.js';
import { budgetReachedAtMs, releaseBudget, releaseRate, type RecoveryPolicy } from './policy.js';

/** A releasing condition's pacing between runs of the recovery loop. */
export interface ReleasePace {
  /** The releasingSince this pace belongs to: a condition that starts releasing again starts afresh. */
  since: number;
  bucket: BucketState;
}

/**
 * How many parked jobs one run of the recovery loop may release at `now`. Two bounds:
 * - the ramp's budget since releasing started (releaseBudget minus those already released), so the
 *   released count never runs ahead of the policy, and follows it exactly when runs are on time;
 * - a token bucket at the current rate, fractions carried from run to run (at 0.5/s a run every
 *   250 ms earns an eighth of a job: one job every 2 s, as promised), holding at most two runs'
 *   worth, so a run that comes late (a slow store, a new leader) does not release a backlog of
 *   budget in one burst.
 * The bucket must hold at least a run's worth: the first version held a tenth of a second's worth
 * and took whole jobs only, so below 10/s nothing was ever released and every run released at most
 * rate/10 jobs (at 4 runs a second, a flat 16/s however high the ramp went).
 */
export function releasable(policy: RecoveryPolicy, releasingSince: number, released: number, pace: ReleasePace | undefined, now: number, intervalMs: number): { due: number; pace: ReleasePace } {
  const elapsed = now - releasingSince;
  const rate = releaseRate(policy, elapsed);
  const start = pace?.since === releasingSince ? pace.bucket : { tokens: 0, at: releasingSince };
  const bucket = refill(start, { perSecond: rate, burst: Math.max(1, (rate * 2 * intervalMs) / 1000) }, now);
  const due = Math.max(0, Math.min(Math.floor(bucket.tokens + 1e-9), releaseBudget(policy, elapsed) - released));
  return { due, pace: { since: releasingSince, bucket } };
}

/** What a condition's release looks like to an operator: the rate now and the time left for what is parked. */
export interface ReleaseOutlook {
  /** Jobs per second released now (0 unless releasing). */
  releaseRate: number;
  /** Seconds until every parked job is released at the policy's ramp; null unless releasing. */
  releaseEtaSeconds: number | null;
}

export function releaseOutlook(policy: RecoveryPolicy, c: { status: string; releasingSince: number | null; released: number }, parked: number, now: number): ReleaseOutlook {
  if (c.status !== 'releasing' || c.releasingSince === null) return { releaseRate: 0, releaseEtaSeconds: null };
  const elapsed = Math.max(0, now - c.releasingSince);
  const doneAt = budgetReachedAtMs(policy, c.released + parked);
  return { releaseRate: releaseRate(policy, elapsed), releaseEtaSeconds: Math.ceil(Math.max(0, doneAt - elapsed) / 1000) };
}
