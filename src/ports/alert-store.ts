import type { Alert, RuleState } from '../domain/alerts.js';
import type { NewLogEvent } from './event-log.js';

/**
 * Where alert rules keep their state and alerts their history (docs/alerts.md), beside the job
 * store in the same database: a firing or resolved alert and its event in the log commit together,
 * and a new leader carries on from the state the old one left. Both stores run
 * test/alerts-store.test.ts.
 */
export interface AlertStore {
  /** The state of every rule evaluated so far. */
  states(): Promise<RuleState[]>;
  /**
   * One evaluation's outcome for a rule, in one transaction: its new state, an alert inserted or
   * changed, and the event of a firing or resolution. Applies only if the rule's state still has
   * `expectedVersion` (0: no state yet), so two leaders for a moment never fire twice; false when
   * it did not apply.
   */
  apply(change: AlertChange): Promise<boolean>;
  /** Alerts, newest first: those firing, or every one kept. */
  list(filter: { state?: 'firing' | 'resolved'; limit: number }): Promise<Alert[]>;
  /** Deletes resolved alerts resolved before `before`; returns how many. */
  pruneResolved(before: number): Promise<number>;
}

export interface AlertChange {
  rule: string;
  expectedVersion: number;
  pendingSince: number | null;
  firingId: string | null;
  evaluatedAt: number;
  /** A new alert (it fires). */
  insert?: Alert;
  /** A change of an alert: its latest value and message, resolved when `resolvedAt` is set. */
  update?: { id: string; value: number; message: string; resolvedAt: number | null };
  /** Logged with the change (firing, resolved). */
  event?: NewLogEvent;
}
