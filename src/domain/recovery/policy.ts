/** How a recovery condition is probed and its parked jobs released. Times in seconds. */
export interface RecoveryPolicy {
  /** Condition keys this policy covers: exact, or a prefix ending in `*` (`service:*`). */
  conditions: string;
  /** First probe this long after the condition opens, and between probes. @defaultValue 10 */
  probeEverySeconds: number;
  /** Each failed probe multiplies the wait by this. @defaultValue 2 */
  probeBackoff: number;
  /** The wait between probes never exceeds this. @defaultValue 300 */
  maxProbeEverySeconds: number;
  release: {
    /** Parked jobs released per second once the probe succeeded. @defaultValue 5 */
    perSecond: number;
    /** The rate doubles every rampEverySeconds up to this. @defaultValue 100 */
    maxPerSecond: number;
    /** @defaultValue 10 */
    rampEverySeconds: number;
  };
  /** A job parked longer fails (dead letter) with the condition as reason. @defaultValue 86400 (1 day) */
  maxParkSeconds: number;
}

export const DEFAULT_POLICY: RecoveryPolicy = {
  conditions: '*',
  probeEverySeconds: 10,
  probeBackoff: 2,
  maxProbeEverySeconds: 300,
  release: { perSecond: 5, maxPerSecond: 100, rampEverySeconds: 10 },
  maxParkSeconds: 86_400,
};

/** The first policy whose pattern covers `key`, else the default. */
export function policyFor(key: string, policies: readonly RecoveryPolicy[]): RecoveryPolicy {
  return policies.find((p) => (p.conditions.endsWith('*') ? key.startsWith(p.conditions.slice(0, -1)) : key === p.conditions)) ?? DEFAULT_POLICY;
}

/** Milliseconds until the next probe after `failures` failed probes in a row. */
export function probeDelayMs(policy: RecoveryPolicy, failures: number): number {
  const seconds = Math.min(policy.maxProbeEverySeconds, policy.probeEverySeconds * policy.probeBackoff ** failures);
  return Math.round(seconds * 1000);
}

/** The release rate (jobs per second) `elapsedMs` after releasing started. */
export function releaseRate(policy: RecoveryPolicy, elapsedMs: number): number {
  const { perSecond, maxPerSecond, rampEverySeconds } = policy.release;
  return Math.min(maxPerSecond, perSecond * 2 ** Math.floor(Math.max(0, elapsedMs) / 1000 / rampEverySeconds));
}

/**
 * The ramp as spans of constant rate from the start of releasing: perSecond for rampEverySeconds,
 * twice that for the next rampEverySeconds, ... and maxPerSecond for ever after (the last span).
 */
function* rampSpans(policy: RecoveryPolicy): Generator<{ seconds: number; rate: number }> {
  const { perSecond, maxPerSecond, rampEverySeconds } = policy.release;
  for (let rate = perSecond; rate < maxPerSecond; rate *= 2) yield { seconds: rampEverySeconds, rate };
  yield { seconds: Infinity, rate: maxPerSecond };
}

/** Sums of rates times seconds land a hair below a whole number (0.1 × 30 s); count them as whole. */
const EPSILON = 1e-9;

/**
 * How many jobs may have been released `elapsedMs` after releasing started: the rate starts at
 * perSecond and doubles every rampEverySeconds up to maxPerSecond (a ramp, so a service that just
 * came back is not hit by the whole backlog at once).
 */
export function releaseBudget(policy: RecoveryPolicy, elapsedMs: number): number {
  let left = Math.max(0, elapsedMs) / 1000;
  let total = 0;
  for (const span of rampSpans(policy)) {
    const seconds = Math.min(left, span.seconds);
    total += seconds * span.rate;
    left -= seconds;
    if (left <= 0) break;
  }
  return Math.floor(total + EPSILON);
}

/** Milliseconds after releasing started at which the budget reaches `jobs` (the inverse of releaseBudget). */
export function budgetReachedAtMs(policy: RecoveryPolicy, jobs: number): number {
  let left = Math.max(0, jobs);
  let seconds = 0;
  for (const span of rampSpans(policy)) {
    const inSpan = span.seconds * span.rate;
    if (left <= inSpan + EPSILON) return Math.ceil((seconds + Math.max(0, left) / span.rate) * 1000);
    left -= inSpan;
    seconds += span.seconds;
  }
  return Infinity; // not reached: the last span is endless
}
