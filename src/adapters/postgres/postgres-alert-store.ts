import type pg from 'pg';
import type { Alert, RuleState } from '../../domain/alerts.js';
import type { AlertChange, AlertStore } from '../../ports/alert-store.js';
import { toAlert, toRuleState, type AlertRow, type RuleStateRow } from '../alert-rows.js';
import { encodeEvent } from './event-rows.js';
import { PG_TYPES } from './rows.js';
import { inTransaction } from './transaction.js';

/**
 * Alerts in PostgreSQL (migrations/0012_alerts.sql), on the job store's pool and schema: a rule's
 * state, its alert and the event in the log commit in one transaction.
 */
export class PostgresAlertStore implements AlertStore {
  constructor(private readonly pool: pg.Pool) {}

  async states(): Promise<RuleState[]> {
    const { rows } = await this.pool.query<RuleStateRow>({ text: 'SELECT * FROM alert_rules ORDER BY rule', types: PG_TYPES });
    return rows.map(toRuleState);
  }

  async apply(c: AlertChange): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const written =
        c.expectedVersion === 0
          ? await client.query('INSERT INTO alert_rules (rule, pending_since, firing_id, evaluated_at, version) VALUES ($1, $2, $3, $4, 1) ON CONFLICT (rule) DO NOTHING', [
              c.rule, c.pendingSince, c.firingId, c.evaluatedAt,
            ])
          : await client.query('UPDATE alert_rules SET pending_since = $1, firing_id = $2, evaluated_at = $3, version = version + 1 WHERE rule = $4 AND version = $5', [
              c.pendingSince, c.firingId, c.evaluatedAt, c.rule, c.expectedVersion,
            ]);
      if (written.rowCount === 0) return false;
      if (c.insert) {
        const a = c.insert;
        await client.query('INSERT INTO alerts (id, rule, kind, queue, state, value, threshold, fired_at, resolved_at, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
          a.id, a.rule, a.kind, a.queue, a.state, a.value, a.threshold, a.firedAt, a.resolvedAt, a.message,
        ]);
      }
      if (c.update) {
        const u = c.update;
        await client.query("UPDATE alerts SET value = $1, message = $2, resolved_at = $3::bigint, state = CASE WHEN $3::bigint IS NULL THEN state ELSE 'resolved' END WHERE id = $4", [
          u.value, u.message, u.resolvedAt, u.id,
        ]);
      }
      // The log's own insert (postgres-event-log.ts append), inside this transaction.
      if (c.event) await client.query('INSERT INTO events (n, at, events) VALUES (1, $1, $2)', [c.event.at, JSON.stringify([encodeEvent(c.event)])]);
      return true;
    });
  }

  async list(filter: { state?: 'firing' | 'resolved'; limit: number }): Promise<Alert[]> {
    const { rows } = filter.state
      ? await this.pool.query<AlertRow>({ text: 'SELECT * FROM alerts WHERE state = $1 ORDER BY fired_at DESC, id DESC LIMIT $2', values: [filter.state, filter.limit], types: PG_TYPES })
      : await this.pool.query<AlertRow>({ text: 'SELECT * FROM alerts ORDER BY fired_at DESC, id DESC LIMIT $1', values: [filter.limit], types: PG_TYPES });
    return rows.map(toAlert);
  }

  async pruneResolved(before: number): Promise<number> {
    const res = await this.pool.query("DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < $1", [before]);
    return res.rowCount ?? 0;
  }
}
