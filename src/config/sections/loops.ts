import { Type, type Static, type TNumber, type TOptional } from '@sinclair/typebox';
import { msOf, Seconds } from '../seconds.js';

/**
 * How often each background loop runs (milliseconds), the `loops` section of the configuration
 * file in seconds (docs/configuration.md#loops). Shorter intervals act sooner on what the loop
 * looks for and cost one store query (or Redis call) per run, on the leader for leader duties;
 * longer ones let that wait. Most loops are also woken by the events they serve, so the interval is
 * the longest a change can wait when no wake-up reached the loop (another node made it, or the
 * process restarted).
 */
export interface LoopIntervals {
  /**
   * Longest sleep of the promoter, which moves delayed and retrying jobs to ready when due. It
   * sleeps until the next due time, so this is only the safety net for due times set by other nodes.
   * @defaultValue 1000
   */
  readonly promoterMs: number;
  /** The expirer: jobs past `expiresAt` become `expired`. Claims refuse expired jobs anyway, so a late run only delays the state change. @defaultValue 1000 */
  readonly expirerMs: number;
  /** The lease reaper: running jobs whose lease ran out go back to the queue (or fail). Adds up to this much to a dead worker's lease. @defaultValue 1000 */
  readonly leaseReaperMs: number;
  /** The worker monitor: remote workers silent for their heartbeat timeout are marked lost and their jobs requeued. @defaultValue 1000 */
  readonly workerMonitorMs: number;
  /** The housekeeper (every node): expired idempotency keys are deleted. @defaultValue 1000 */
  readonly housekeeperMs: number;
  /** The dispatch repair scan: ready, delayed and running jobs missing from the dispatch index are put back. Each run scans up to 5,000 jobs. @defaultValue 5000 */
  readonly dispatchRepairMs: number;
  /** The pruner: finished jobs past their retention are deleted (docs/jobs.md#retention). @defaultValue 60000 */
  readonly prunerMs: number;
  /** The recovery loop: open conditions are probed and parked jobs released (docs/recovery.md). Bounds how soon a cleared condition starts releasing. @defaultValue 250 */
  readonly recoveryMs: number;
  /** The running sweep: capped queues' running counts checked against the store (docs/fairness.md). A leaked count is corrected after two sweeps. @defaultValue 5000 */
  readonly runningSweepMs: number;
  /** The event relay's pause when the event log is drained: lifecycle events reach Kafka, SSE and webhooks within it. @defaultValue 50 */
  readonly relayMs: number;
  /** The webhook dispatcher's pause when the event log is drained (it is also woken by the relay). @defaultValue 200 */
  readonly webhookDispatchMs: number;
  /** The webhook sender's pause when nothing woke it: retries due later are sent within it. @defaultValue 500 */
  readonly webhookSendMs: number;
  /** Longest sleep of the cron firer: new and changed schedules made on other nodes are seen within it. @defaultValue 1000 */
  readonly scheduleFirerMs: number;
  /**
   * Production: how often a scheduler follower tries to take the leader lock, and the leader checks
   * it still holds it. A dead leader's duties resume within it. @defaultValue 1000
   */
  readonly leadershipCheckMs: number;
}

/** Today's intervals; the alert evaluator's is `alerts.evaluateEverySeconds` (15 s, docs/alerts.md). */
export const DEFAULT_LOOPS: LoopIntervals = Object.freeze({
  promoterMs: 1000,
  expirerMs: 1000,
  leaseReaperMs: 1000,
  workerMonitorMs: 1000,
  housekeeperMs: 1000,
  dispatchRepairMs: 5000,
  prunerMs: 60_000,
  recoveryMs: 250,
  runningSweepMs: 5000,
  relayMs: 50,
  webhookDispatchMs: 200,
  webhookSendMs: 500,
  scheduleFirerMs: 1000,
  leadershipCheckMs: 1000,
});

type Key = keyof LoopIntervals;
/** `promoterMs` is `promoterSeconds` in the file. */
const fileKey = (key: Key) => key.replace(/Ms$/, 'Seconds');

// At least 10 ms, so that no setting turns a loop into a busy poll of the store; at most a day.
const Interval = (key: Key) => Type.Optional(Seconds(`default ${DEFAULT_LOOPS[key] / 1000}`, { minimum: 0.01, maximum: 86_400 }));

export const LoopsFileSchema = Type.Object(
  Object.fromEntries((Object.keys(DEFAULT_LOOPS) as Key[]).map((k) => [fileKey(k), Interval(k)])) as Record<string, TOptional<TNumber>>,
  { additionalProperties: false },
);

/** The file's section as intervals in ms (only the ones it sets). */
export function loopsOf(section: Static<typeof LoopsFileSchema> | undefined): Partial<LoopIntervals> | undefined {
  if (!section) return undefined;
  const loops: Partial<Record<Key, number>> = {};
  for (const key of Object.keys(DEFAULT_LOOPS) as Key[]) {
    const seconds = section[fileKey(key)];
    if (seconds !== undefined) loops[key] = msOf(seconds);
  }
  return loops;
}

/**
 * The intervals an engine runs with: the defaults, then `maintenanceIntervalMs` (the embedded API's
 * one knob for the one-second loops, as before: the repair scan and the pruner never run more often
 * than 5 s and 60 s), then `recoveryIntervalMs`, then each interval set explicitly (the file's
 * `loops`, or DocketParts.loops).
 */
export function resolveLoops(options: { maintenanceIntervalMs?: number | undefined; recoveryIntervalMs?: number | undefined; loops?: Partial<LoopIntervals> | undefined } = {}): LoopIntervals {
  const m = options.maintenanceIntervalMs;
  const shorthand: Partial<LoopIntervals> =
    m === undefined
      ? {}
      : {
          promoterMs: m,
          expirerMs: m,
          leaseReaperMs: m,
          workerMonitorMs: m,
          housekeeperMs: m,
          dispatchRepairMs: Math.max(m, DEFAULT_LOOPS.dispatchRepairMs),
          prunerMs: Math.max(m, DEFAULT_LOOPS.prunerMs),
        };
  return Object.freeze({
    ...DEFAULT_LOOPS,
    ...shorthand,
    ...(options.recoveryIntervalMs !== undefined ? { recoveryMs: options.recoveryIntervalMs } : {}),
    ...definedOf(options.loops),
  });
}

function definedOf(loops: Partial<LoopIntervals> | undefined): Partial<LoopIntervals> {
  return Object.fromEntries(Object.entries(loops ?? {}).filter(([, v]) => v !== undefined));
}
