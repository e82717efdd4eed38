/**
 * Scenario 6, Docket only, against whatever the dispatcher does today:
 *
 * - fairness: tenant A submits N jobs to the queue, then tenant B submits 10, both while no
 *   worker runs (so A's backlog is whole when B arrives: with workers running, a fast drain
 *   would empty A's queue during its own submit); then the workers start. Reported: B's first
 *   and last start after the first job's start (dispatch under way), and how many of A's jobs
 *   started before B's last one;
 * - priority: with the workers running, N/10 jobs of priority 5, then 1 of priority 1: its start
 *   delay after its submit, and how many priority-5 jobs started between its submit and its start
 *   (those already claimed by a worker run first);
 * - weighted shares: queue `weighted`, where tenant `w-heavy` has weight 3 (config `fairness`,
 *   FAIRNESS_RULES; the engine is opened with it for this scenario only). w-heavy and w-light
 *   queue 2,000 `work` jobs each (2 ms of sleep) while no worker serves that queue; then workers
 *   serving only `weighted` start. Reported: heavy:light starts among the first 40% of the starts,
 *   while both still have backlog (expected 3);
 * - priority-pool shares: queue `pools`, one tenant, 1,500 `work` jobs (5 ms) of each of the
 *   priorities 2, 5 and 9, then workers serving only `pools` with the priority pools
 *   {"1-3":8,"4-7":4,"8-10":2} start. Reported: each range's share of the first 40% of the starts,
 *   while every range has work (expected 4/7, 2/7, 1/7).
 *
 * Start times come from the store (production: `started_at`) or the in-process worker
 * (embedded): epoch ms on this machine's clock.
 */
import type { FairnessConfig } from '../../src/domain/fairness.js';
import type { Bar } from '../progress.js';
import type { Start, TenantJob } from '../docket/embedded.js';
import type { Signals } from '../signals.js';
import type { System } from '../system.js';
import { probe } from './latency.js';
import { waitDrained } from './measure.js';

/** What the workers started by startWorkers serve: queues (default: `default`) and concurrency (default: the system's own). */
export interface WorkerSetup {
  queues?: string[];
  concurrency?: number | Record<string, number>;
}

export interface TenantSystem extends System {
  /**
   * Tenant weights the next setup opens the engine with (null: none, as the other scenarios run);
   * the suite sets FAIRNESS_RULES for this scenario's step only.
   */
  fairnessRules: FairnessConfig | null;
  submitAs(tenant: string, jobs: readonly TenantJob[]): Promise<void>;
  starts(type: string): Promise<Start[]>;
  startWorkers(setup?: WorkerSetup): Promise<void>;
}

/** The weighted part's rule: its own queue only, so nothing else is touched. */
export const FAIRNESS_RULES: FairnessConfig = { weighted: { tenants: { 'w-heavy': { weight: 3 } } } };
export const WEIGHTED_JOBS = 2000;
export const POOL_JOBS = 1500;
export const POOLS = { '1-3': 8, '4-7': 4, '8-10': 2 };
/** The share of the starts counted: every tenant (range) still has backlog through it. */
const FIRST = 0.4;

export interface FairnessResult {
  bigTenantJobs: number;
  /** B's first and last start, ms after the first job's start. */
  smallTenantFirstStartMs: number;
  smallTenantLastStartMs: number;
  bigTenantStartedBeforeSmallLast: number;
  lowPriorityJobs: number;
  highPriorityStartMs: number;
  lowStartedAfterHighSubmitted: number;
  /** Jobs per tenant (weighted) and per priority range (pools). */
  weightedJobsPerTenant: number;
  /** w-heavy's starts over w-light's among the first 40% of the starts (weight 3:1). */
  weightedHeavyLightRatio: number;
  poolJobsPerRange: number;
  /** Each range's share of the first 40% of the starts (pools 8:4:2). */
  poolShare1to3: number;
  poolShare4to7: number;
  poolShare8to10: number;
}

const now = () => performance.timeOrigin + performance.now();

export async function fairness(system: TenantSystem, signals: Signals, n: number, bar: Bar): Promise<FairnessResult> {
  bar.start(n + 10, 0, { phase: 'fairness' });
  await system.submitAs('tenant-a', Array.from({ length: n }, () => ({ type: 'mark' })));
  await system.submitAs('tenant-b', Array.from({ length: 10 }, () => ({ type: 'mark' })));
  await system.startWorkers();
  await waitDrained(system, signals, n + 10, bar, Math.max(300_000, n * 10));
  let starts = await system.starts('mark');
  const first = Math.min(...starts.map((s) => s.startedAt));
  const b = starts.filter((s) => s.tenant === 'tenant-b').map((s) => s.startedAt);
  if (b.length !== 10) throw new Error(`fairness: ${b.length} of tenant B's 10 jobs started`);
  const bLast = Math.max(...b);
  const fair = {
    bigTenantJobs: n,
    smallTenantFirstStartMs: Math.min(...b) - first,
    smallTenantLastStartMs: bLast - first,
    bigTenantStartedBeforeSmallLast: starts.filter((s) => s.tenant === 'tenant-a' && s.startedAt < bLast).length,
  };
  // The workers must be taking jobs before the priority test: one probe through, not counted.
  await probe(system, signals, 60_000);

  const low = Math.max(1, Math.round(n / 10));
  bar.start(low + 1, 0, { phase: 'priority' });
  await system.submitAs('prio', Array.from({ length: low }, () => ({ type: 'mark', priority: 5 })));
  const hAt = now();
  await system.submitAs('prio', [{ type: 'mark', priority: 1 }]);
  await waitDrained(system, signals, low + 1, bar, Math.max(300_000, low * 10));
  starts = (await system.starts('mark')).filter((s) => s.tenant === 'prio');
  const high = starts.find((s) => s.priority === 1);
  if (!high) throw new Error('priority: the priority-1 job did not start');
  const prio = {
    lowPriorityJobs: low,
    highPriorityStartMs: high.startedAt - hAt,
    lowStartedAfterHighSubmitted: starts.filter((s) => s.priority === 5 && s.startedAt >= hAt && s.startedAt < high.startedAt).length,
  };

  // Weighted shares: both backlogs whole before workers serving only `weighted` start.
  await system.stopWorkers();
  bar.start(2 * WEIGHTED_JOBS, 0, { phase: 'weights' });
  for (const tenant of ['w-heavy', 'w-light']) {
    await system.submitAs(tenant, Array.from({ length: WEIGHTED_JOBS }, () => ({ type: 'work', queue: 'weighted', payload: { ms: 2 } })));
  }
  await system.startWorkers({ queues: ['weighted'] });
  await waitDrained(system, signals, 2 * WEIGHTED_JOBS, bar, 300_000);
  await system.stopWorkers();
  const weighted = firstOf((await system.starts('work')).filter((s) => s.tenant.startsWith('w-')), 2 * WEIGHTED_JOBS);
  const heavy = weighted.filter((s) => s.tenant === 'w-heavy').length;

  // Priority-pool shares: equal backlogs of priorities 2, 5 and 9, then workers with pools 8:4:2.
  bar.start(3 * POOL_JOBS, 0, { phase: 'pools' });
  await system.submitAs('p-tenant', Array.from({ length: 3 * POOL_JOBS }, (_, i) => ({ type: 'work', queue: 'pools', priority: [2, 5, 9][i % 3]!, payload: { ms: 5 } })));
  await system.startWorkers({ queues: ['pools'], concurrency: POOLS });
  await waitDrained(system, signals, 3 * POOL_JOBS, bar, 300_000);
  const pooled = firstOf((await system.starts('work')).filter((s) => s.tenant === 'p-tenant'), 3 * POOL_JOBS);
  const share = (min: number, max: number) => pooled.filter((s) => s.priority >= min && s.priority <= max).length / pooled.length;
  return {
    ...fair,
    ...prio,
    weightedJobsPerTenant: WEIGHTED_JOBS,
    weightedHeavyLightRatio: heavy / (weighted.length - heavy),
    poolJobsPerRange: POOL_JOBS,
    poolShare1to3: share(1, 3),
    poolShare4to7: share(4, 7),
    poolShare8to10: share(8, 10),
  };
}

/** The first FIRST of `total` starts, in start order; all of them must have started. */
function firstOf(starts: Start[], total: number): Start[] {
  if (starts.length !== total) throw new Error(`fairness: ${starts.length} of ${total} work jobs started`);
  return [...starts].sort((a, b) => a.startedAt - b.startedAt).slice(0, Math.round(total * FIRST));
}
