import { conditionMatches, scopeOf, show, type AlertRule, type Measurement } from '../../domain/alerts.js';
import type { ConditionRecord, Store } from '../../ports/store.js';
import type { WorkerDirectory, WorkerRecord } from '../../ports/worker-directory.js';
import { noFinished, type FinishedCounts } from '../../domain/queue-activity.js';
import type { QueueDepth } from '../../domain/queue-depths.js';

/**
 * Measures rules against the cluster. One evaluation reads what several rules share once (queue
 * depths, workers, conditions) and per rule only what is its own (a queue's oldest ready job, the
 * jobs that ended in its window).
 */
export class Measurer {
  private depths: Promise<QueueDepth[]> | null = null;
  private workers: Promise<WorkerRecord[]> | null = null;
  private conditions: Promise<ConditionRecord[]> | null = null;

  constructor(
    private readonly store: Store,
    private readonly directory: WorkerDirectory,
    private readonly now: number,
  ) {}

  /** Jobs of `queue` (null: every queue) that ended at or after `since`, by end state: the dashboard's queue activity, as one slot. */
  private async endedSince(queue: string | null, since: number): Promise<FinishedCounts> {
    const queues = queue === null ? (await (this.depths ??= this.store.countByQueue({}))).map((d) => d.queue) : [queue];
    const { finished } = await this.store.queueActivity({ queues }, since, Math.max(1, this.now - since + 1));
    const counts = noFinished();
    for (const r of finished) counts[r.state] += Number(r.count);
    return counts;
  }

  async measure(rule: AlertRule): Promise<Measurement> {
    const scope = scopeOf(rule);
    switch (rule.kind) {
      case 'queue-depth': {
        const depths = await (this.depths ??= this.store.countByQueue({}));
        const ready = depths.find((d) => d.queue === rule.queue)?.counts.ready ?? 0;
        return { value: ready, breached: ready > rule.threshold, message: `${scope}: ${ready} ready jobs (alert above ${rule.threshold})` };
      }
      case 'oldest-ready': {
        // The queue activity the dashboard reads (Store.queueActivity), with an empty window.
        const { oldestReady } = await this.store.queueActivity({ queues: [rule.queue!] }, this.now, 60_000);
        const at = oldestReady[0]?.runAt ?? null;
        const age = at === null ? 0 : Math.max(0, (this.now - at) / 1000);
        return {
          value: age,
          breached: age > rule.threshold,
          message: at === null ? `${scope}: no ready job` : `${scope}: the oldest ready job has been due ${show(age)} s (alert above ${show(rule.threshold)} s)`,
        };
      }
      case 'failure-rate': {
        const { succeeded, failed } = await this.endedSince(rule.queue, this.now - rule.windowMs);
        const total = succeeded + failed;
        const rate = total === 0 ? 0 : failed / total;
        const enough = total >= (rule.minJobs ?? 1);
        return {
          value: rate,
          breached: enough && rate > rule.threshold,
          message: `${scope}: ${failed} of ${total} jobs ended failed in the last ${show(rule.windowMs / 1000)} s, a rate of ${show(rate)} (alert above ${show(rule.threshold)}${enough ? '' : `, with at least ${rule.minJobs} jobs`})`,
        };
      }
      case 'dead-letter-growth': {
        const { failed } = await this.endedSince(rule.queue, this.now - rule.windowMs);
        return { value: failed, breached: failed > rule.threshold, message: `${scope}: ${failed} new dead letters in the last ${show(rule.windowMs / 1000)} s (alert above ${rule.threshold})` };
      }
      case 'no-worker': {
        const workers = await (this.workers ??= this.directory.list());
        const live = workers.filter((w) => w.status === 'active' && (w.queues.length === 0 || w.queues.includes(rule.queue!) || w.queues.includes('*'))).length;
        return { value: live, breached: live <= rule.threshold, message: `${scope}: ${live} live remote workers` };
      }
      case 'condition-open': {
        const conditions = await (this.conditions ??= this.store.listConditions());
        const open = conditions.filter((c) => conditionMatches(rule.condition!, c.key)).map((c) => ({ key: c.key, seconds: Math.max(0, (this.now - c.firstSeenAt) / 1000) }));
        open.sort((a, b) => b.seconds - a.seconds);
        const longest = open[0];
        if (!longest) return { value: 0, breached: false, message: `no condition ${rule.condition} is open` };
        const others = open.length > 1 ? ` (${open.length} conditions match ${rule.condition})` : '';
        return {
          value: longest.seconds,
          breached: longest.seconds > rule.threshold,
          message: `condition ${longest.key} has been open ${show(longest.seconds)} s (alert above ${show(rule.threshold)} s)${others}`,
        };
      }
    }
  }
}
