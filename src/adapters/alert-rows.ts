import type { Alert, AlertKind, RuleState } from '../domain/alerts.js';

/** An `alerts` row as both engines return it (PostgreSQL bigints parsed to numbers by PG_TYPES). */
export interface AlertRow {
  id: string;
  rule: string;
  kind: string;
  queue: string | null;
  state: string;
  value: number | string;
  threshold: number | string;
  fired_at: number | string;
  resolved_at: number | string | null;
  message: string;
}

export interface RuleStateRow {
  rule: string;
  pending_since: number | string | null;
  firing_id: string | null;
  evaluated_at: number | string;
  version: number | string;
}

export function toAlert(r: AlertRow): Alert {
  return {
    id: r.id,
    rule: r.rule,
    kind: r.kind as AlertKind,
    queue: r.queue,
    state: r.state as Alert['state'],
    value: Number(r.value),
    threshold: Number(r.threshold),
    firedAt: Number(r.fired_at),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    message: r.message,
  };
}

export function toRuleState(r: RuleStateRow): RuleState {
  return {
    rule: r.rule,
    pendingSince: r.pending_since === null ? null : Number(r.pending_since),
    firingId: r.firing_id,
    evaluatedAt: Number(r.evaluated_at),
    version: Number(r.version),
  };
}
