import type Database from 'better-sqlite3';
import type { Alert, RuleState } from '../../domain/alerts.js';
import type { AlertChange, AlertStore } from '../../ports/alert-store.js';
import { toAlert, toRuleState, type AlertRow, type RuleStateRow } from '../alert-rows.js';
import { statementCache } from './statements.js';

/**
 * Alerts on the embedded SQLite file (migrations/0012_alerts.sql), on the job store's connection:
 * a rule's state, its alert and the event in the log commit in one transaction.
 */
export class SqliteAlertStore implements AlertStore {
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
  }

  async states(): Promise<RuleState[]> {
    return (this.stmt('SELECT * FROM alert_rules ORDER BY rule').all() as RuleStateRow[]).map(toRuleState);
  }

  async apply(c: AlertChange): Promise<boolean> {
    return this.db.transaction(() => {
      const written =
        c.expectedVersion === 0
          ? this.stmt('INSERT INTO alert_rules (rule, pending_since, firing_id, evaluated_at, version) VALUES (?, ?, ?, ?, 1) ON CONFLICT (rule) DO NOTHING').run(
              c.rule, c.pendingSince, c.firingId, c.evaluatedAt,
            ).changes
          : this.stmt('UPDATE alert_rules SET pending_since = ?, firing_id = ?, evaluated_at = ?, version = version + 1 WHERE rule = ? AND version = ?').run(
              c.pendingSince, c.firingId, c.evaluatedAt, c.rule, c.expectedVersion,
            ).changes;
      if (written === 0) return false;
      if (c.insert) {
        const a = c.insert;
        this.stmt('INSERT INTO alerts (id, rule, kind, queue, state, value, threshold, fired_at, resolved_at, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
          a.id, a.rule, a.kind, a.queue, a.state, a.value, a.threshold, a.firedAt, a.resolvedAt, a.message,
        );
      }
      if (c.update) {
        const u = c.update;
        this.stmt("UPDATE alerts SET value = ?, message = ?, resolved_at = ?, state = CASE WHEN ? IS NULL THEN state ELSE 'resolved' END WHERE id = ?").run(
          u.value, u.message, u.resolvedAt, u.resolvedAt, u.id,
        );
      }
      if (c.event) {
        const e = c.event;
        this.stmt('INSERT INTO events (topic, key, tenant, link_id, type, at, data) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
          e.topic, e.key, e.tenant, e.linkId ?? null, e.type, e.at, JSON.stringify(e.data),
        );
      }
      return true;
    }).immediate();
  }

  async list(filter: { state?: 'firing' | 'resolved'; limit: number }): Promise<Alert[]> {
    const rows = filter.state
      ? this.stmt('SELECT * FROM alerts WHERE state = ? ORDER BY fired_at DESC, id DESC LIMIT ?').all(filter.state, filter.limit)
      : this.stmt('SELECT * FROM alerts ORDER BY fired_at DESC, id DESC LIMIT ?').all(filter.limit);
    return (rows as AlertRow[]).map(toAlert);
  }

  async pruneResolved(before: number): Promise<number> {
    return this.stmt("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?").run(before).changes;
  }
}
