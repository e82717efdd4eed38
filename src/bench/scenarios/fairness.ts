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
 *   (those already claimed by a worker run first).
 *
 * Start times come from the store (production: `started_at`) or the in-process worker
 * (embedded): epoch ms on this machine's clock.
 */
import type { Bar } from '../progress.js';
import type { Start, TenantJob } from '../docket/embedded.js';
import type { Signals } from '../signals.js';
import type { System } from '../system.js';
import { probe } from './latency.js';
import { waitDrained } from './measure.js';

export interface TenantSystem extends System {
  submitAs(tenant: string, jobs: readonly TenantJob[]): Promise<void>;
  starts(type: string): Promise<Start[]>;
}

export interface FairnessResult {
  bigTenantJobs: number;
  /** B's first and last start, ms after the first job's start. */
  smallTenantFirstStartMs: number;
  smallTenantLastStartMs: number;
  bigTenantStartedBeforeSmallLast: number;
  lowPriorityJobs: number;
  highPriorityStartMs: number;
  lowStartedAfterHighSubmitted: number;
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
  return {
    ...fair,
    lowPriorityJobs: low,
    highPriorityStartMs: high.startedAt - hAt,
    lowStartedAfterHighSubmitted: starts.filter((s) => s.priority === 5 && s.startedAt >= hAt && s.startedAt < high.startedAt).length,
  };
}
