/**
 * Alert rules (docs/alerts.md): what each kind measures, when it fires, and the state machine of
 * one rule (ok → pending → firing → ok). Pure: the evaluator (services/alerts) measures, this
 * decides, the store keeps the state so that a new leader carries on where the old one stopped.
 */

export const ALERT_KINDS = ['queue-depth', 'oldest-ready', 'failure-rate', 'dead-letter-growth', 'no-worker', 'condition-open'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** A checked rule, times in ms. */
export interface AlertRule {
  /** Unique in the file; names the alert in the API, events and hooks. */
  name: string;
  kind: AlertKind;
  /** The queue measured; null: every queue (dead-letter-growth) or not about a queue (condition-open). */
  queue: string | null;
  /** Fires when the measured value is above this (no-worker: live workers at or below it, i.e. 0). */
  threshold: number;
  /** The window a rate or growth is measured over (failure-rate, dead-letter-growth); else 0. */
  windowMs: number;
  /** The condition must hold this long, measured at every evaluation, before the alert fires. */
  forMs: number;
  /** condition-open: a condition key, or a prefix ending in `*`. */
  condition?: string;
  /** failure-rate: fewer finished jobs than this in the window never fire (a rate of 1 of 1 is noise). */
  minJobs?: number;
}

/** A measurement of a rule: the value compared with the threshold, and what the message says. */
export interface Measurement {
  value: number;
  /** Whether the rule's condition holds (the value crossed the threshold). */
  breached: boolean;
  /** Human-readable, e.g. `queue emails: 1520 ready jobs (above 1000)`. */
  message: string;
}

/** What the store keeps per rule between evaluations. */
export interface RuleState {
  rule: string;
  /** Since when the condition holds without having fired yet; null when it does not hold. */
  pendingSince: number | null;
  /** The alert now firing for this rule, or null. */
  firingId: string | null;
  /** When it was last evaluated (a check for operators; evaluation does not depend on it). */
  evaluatedAt: number;
  /** Optimistic concurrency: a write applies only if the row still has the version read. */
  version: number;
}

/** An alert: one firing of a rule, resolved when its condition no longer holds. */
export interface Alert {
  id: string;
  rule: string;
  kind: AlertKind;
  queue: string | null;
  state: 'firing' | 'resolved';
  /** The measured value when it fired (updated while it fires: the latest measurement). */
  value: number;
  threshold: number;
  firedAt: number;
  resolvedAt: number | null;
  message: string;
}

/** What one evaluation decides for a rule. */
export type Decision =
  | { kind: 'none'; pendingSince: number | null }
  | { kind: 'fire'; value: number; message: string }
  | { kind: 'update'; value: number; message: string }
  | { kind: 'resolve'; value: number; message: string };

/**
 * The rule's next step. Not breached: a firing alert resolves, a pending one is forgotten.
 * Breached: pending starts (or goes on) until it has held `forMs`, then the alert fires; a firing
 * alert keeps firing with the latest value.
 */
export function decide(rule: AlertRule, state: RuleState | undefined, m: Measurement, now: number): Decision {
  const firing = state?.firingId ?? null;
  if (!m.breached) return firing ? { kind: 'resolve', value: m.value, message: m.message } : { kind: 'none', pendingSince: null };
  if (firing) return { kind: 'update', value: m.value, message: m.message };
  const since = state?.pendingSince ?? now;
  if (now - since >= rule.forMs) return { kind: 'fire', value: m.value, message: m.message };
  return { kind: 'none', pendingSince: since };
}

/** Whether a condition key is covered by a rule's `condition` (exact, or a prefix ending in `*`). */
export function conditionMatches(pattern: string, key: string): boolean {
  return pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern;
}

/** How a rule reads in messages: `queue emails` or `every queue`. */
export function scopeOf(rule: AlertRule): string {
  return rule.queue === null ? 'every queue' : `queue ${rule.queue}`;
}

/** Rounds for messages: 1520, 0.153, 12.5. */
export function show(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

/** An alert as the API, events and hooks show it (times RFC 3339). */
export interface AlertView {
  id: string;
  rule: string;
  kind: AlertKind;
  queue: string | null;
  state: 'firing' | 'resolved';
  value: number;
  threshold: number;
  firedAt: string;
  resolvedAt: string | null;
  message: string;
}

export function alertView(a: Alert): AlertView {
  return {
    id: a.id,
    rule: a.rule,
    kind: a.kind,
    queue: a.queue,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    firedAt: new Date(a.firedAt).toISOString(),
    resolvedAt: a.resolvedAt === null ? null : new Date(a.resolvedAt).toISOString(),
    message: a.message,
  };
}
