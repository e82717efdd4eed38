import { v7 as uuidv7 } from 'uuid';
import { alertView, decide, type Alert, type AlertRule, type RuleState } from '../../domain/alerts.js';
import type { AlertStore, AlertChange } from '../../ports/alert-store.js';
import type { Clock } from '../../ports/clock.js';
import type { NewLogEvent } from '../../ports/event-log.js';
import type { Store } from '../../ports/store.js';
import type { WorkerDirectory } from '../../ports/worker-directory.js';
import { CLUSTER_TENANT } from '../events/evented-worker-directory.js';
import { Periodic } from '../maintenance/periodic.js';
import { Measurer } from './measure.js';

/** The topic of alert events (`docket.alert.firing`, `docket.alert.resolved`). */
export const ALERT_TOPIC = 'alert-events';
/** Resolved alerts are kept this long. */
const KEEP_RESOLVED_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export interface AlertEvaluatorOptions {
  rules: readonly AlertRule[];
  /** @defaultValue 15 s */
  intervalMs: number;
}

/** What one evaluation did, for tests and logs. */
export interface EvaluationReport {
  fired: Alert[];
  resolved: string[];
  /** Rules whose write did not apply (another leader wrote first): they are evaluated again next time. */
  conflicts: string[];
}

/**
 * A leader duty, once per cluster: measures every alert rule, moves its state (ok → pending →
 * firing → ok) and, on firing or resolving, writes the alert and its event (topic `alert-events`,
 * tenant `*`: admins' streams, Kafka, and webhook subscriptions of tenant `*` to `alert.*`) in one
 * transaction. The state lives in the store with a version, so a new leader goes on where the old
 * one stopped and two leaders for a moment never fire an alert twice.
 */
export class AlertEvaluator {
  private readonly loop: Periodic;
  private lastPrune = 0;
  private readonly listeners = new Set<(alert: Alert) => void>();

  constructor(
    private readonly alerts: AlertStore,
    private readonly store: Store,
    private readonly workers: WorkerDirectory,
    private readonly clock: Clock,
    private readonly options: AlertEvaluatorOptions,
    onError: (err: unknown) => void,
  ) {
    this.loop = new Periodic(clock, options.intervalMs, () => this.runOnce(), onError);
  }

  get rules(): readonly AlertRule[] {
    return this.options.rules;
  }

  start(): void {
    // Nothing to do without rules but to resolve alerts of rules since removed: once, at start.
    if (this.options.rules.length === 0) void this.loop.runNow();
    else this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Hears each alert that this process fired (state `firing`) or resolved (`resolved`), once it is recorded: for logs. */
  onChange(listener: (alert: Alert) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async runOnce(): Promise<EvaluationReport> {
    const now = this.clock.now();
    const report: EvaluationReport = { fired: [], resolved: [], conflicts: [] };
    const states = new Map((await this.alerts.states()).map((s) => [s.rule, s]));
    const measurer = new Measurer(this.store, this.workers, now);
    for (const rule of this.options.rules) {
      const state = states.get(rule.name);
      states.delete(rule.name);
      const m = await measurer.measure(rule);
      const d = decide(rule, state, m, now);
      const base = { rule: rule.name, expectedVersion: state?.version ?? 0, evaluatedAt: now };
      let change: AlertChange;
      switch (d.kind) {
        case 'none':
          change = { ...base, pendingSince: d.pendingSince, firingId: null };
          break;
        case 'fire': {
          const alert: Alert = { id: uuidv7(), rule: rule.name, kind: rule.kind, queue: rule.queue, state: 'firing', value: d.value, threshold: rule.threshold, firedAt: now, resolvedAt: null, message: d.message };
          change = { ...base, pendingSince: null, firingId: alert.id, insert: alert, event: eventOf(alert, now) };
          break;
        }
        case 'update':
          change = { ...base, pendingSince: null, firingId: state!.firingId, update: { id: state!.firingId!, value: d.value, message: d.message, resolvedAt: null } };
          break;
        case 'resolve':
          change = { ...base, pendingSince: null, firingId: null, update: { id: state!.firingId!, value: d.value, message: d.message, resolvedAt: now } };
          break;
      }
      const resolved = d.kind === 'resolve' ? await this.resolvedAlert(state!, d.value, d.message, now) : null;
      if (resolved) change.event = eventOf(resolved, now);
      if (await this.alerts.apply(change)) {
        if (change.insert) this.fired(report, change.insert);
        if (resolved) this.resolved(report, resolved);
      } else {
        report.conflicts.push(rule.name);
      }
    }
    // Rules no longer configured: their firing alerts resolve (nobody would otherwise).
    for (const state of states.values()) {
      if (!state.firingId) continue;
      const message = `rule ${state.rule} was removed from the configuration`;
      const resolved = await this.resolvedAlert(state, 0, message, now);
      const change: AlertChange = {
        rule: state.rule, expectedVersion: state.version, evaluatedAt: now, pendingSince: null, firingId: null,
        update: { id: state.firingId, value: 0, message, resolvedAt: now },
        event: eventOf(resolved, now),
      };
      if (await this.alerts.apply(change)) this.resolved(report, resolved);
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.alerts.pruneResolved(now - KEEP_RESOLVED_MS);
    }
    return report;
  }

  private fired(report: EvaluationReport, alert: Alert): void {
    report.fired.push(alert);
    this.tell(alert);
  }

  private resolved(report: EvaluationReport, alert: Alert): void {
    report.resolved.push(alert.id);
    this.tell(alert);
  }

  private tell(alert: Alert): void {
    for (const l of this.listeners) {
      try {
        l(alert);
      } catch {
        // A listener's failure must not stop the evaluation: the alert is recorded already.
      }
    }
  }

  /** The alert as it is after resolving (what the resolved event carries). */
  private async resolvedAlert(state: RuleState, value: number, message: string, now: number): Promise<Alert> {
    const firing = (await this.alerts.list({ state: 'firing', limit: 1000 })).find((a) => a.id === state.firingId);
    return firing
      ? { ...firing, state: 'resolved', value, message, resolvedAt: now }
      : { id: state.firingId!, rule: state.rule, kind: 'queue-depth', queue: null, state: 'resolved', value, threshold: 0, firedAt: now, resolvedAt: now, message };
  }
}

/** The log event of an alert's change: `docket.alert.firing` or `docket.alert.resolved`, keyed by the alert id. */
export function eventOf(alert: Alert, at: number): NewLogEvent {
  return { topic: ALERT_TOPIC, key: alert.id, tenant: CLUSTER_TENANT, linkId: null, type: alert.state, at, data: { ...alertView(alert) } };
}
