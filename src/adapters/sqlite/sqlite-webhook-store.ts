import type Database from 'better-sqlite3';
import type { AttemptRecord, CallbackSecret, Delivery, DeliveryQuery, DueDelivery, NewDelivery, NewWebhook, Webhook, WebhookFilter, WebhookPatch, WebhookStore } from '../../ports/webhook-store.js';
import { statementCache } from './statements.js';
import { DELIVERY_COLUMNS, scopeColumns, toCallbackSecret, type CallbackSecretRow, toDeliveries, toDue, toWebhook, type AttemptRow, type DeliveryRow, type DueRow, type WebhookRow } from '../webhook-rows.js';

/**
 * Webhooks on the embedded SQLite file (migrations/0008_webhooks.sql), on the job store's own
 * connection: the dispatcher's delivery rows and its event cursor commit together.
 */
export class SqliteWebhookStore implements WebhookStore {
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
  }

  async create(s: NewWebhook): Promise<void> {
    const { queue, jobId } = scopeColumns(s.scope);
    this.stmt(
        `INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.id, s.tenant, s.url, queue, jobId, JSON.stringify(s.events), s.description, s.secret, s.createdAt, s.createdAt);
  }

  async get(id: string): Promise<Webhook | undefined> {
    const row = this.stmt('SELECT * FROM webhook_subscriptions WHERE id = ?').get(id) as WebhookRow | undefined;
    return row ? toWebhook(row) : undefined;
  }

  async list(filter: WebhookFilter = {}): Promise<Webhook[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      values.push(value);
    };
    if (filter.tenant !== undefined) add('tenant = ?', filter.tenant);
    if (filter.enabled !== undefined) add('enabled = ?', filter.enabled ? 1 : 0);
    if (filter.jobId !== undefined) add('job_id = ?', filter.jobId);
    const sql = `SELECT * FROM webhook_subscriptions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
    return (this.stmt(sql).all(...values) as WebhookRow[]).map(toWebhook);
  }

  async update(id: string, patch: WebhookPatch, now: number): Promise<Webhook | undefined> {
    const sets = ['updated_at = ?'];
    const values: unknown[] = [now];
    const add = (sql: string, value: unknown) => {
      sets.push(sql);
      values.push(value);
    };
    if (patch.url !== undefined) add('url = ?', patch.url);
    if (patch.events !== undefined) add('events = ?', JSON.stringify(patch.events));
    if (patch.description !== undefined) add('description = ?', patch.description);
    if (patch.secret !== undefined) add('secret = ?', patch.secret);
    this.stmt(`UPDATE webhook_subscriptions SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    return this.get(id);
  }

  async setEnabled(id: string, enabled: boolean, now: number, reason?: string): Promise<Webhook | undefined> {
    this.db.transaction(() => {
      if (enabled) {
        this.stmt('UPDATE webhook_subscriptions SET enabled = 1, disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0, updated_at = ? WHERE id = ?')
          .run(now, id);
        this.stmt("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE subscription_id = ? AND status = 'pending'").run(now, id);
      } else {
        this.stmt('UPDATE webhook_subscriptions SET enabled = 0, disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1')
          .run(now, reason ?? 'disabled by its owner', now, id);
      }
    })();
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.stmt('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = ?)').run(id);
      this.stmt('DELETE FROM webhook_deliveries WHERE subscription_id = ?').run(id);
      return this.stmt('DELETE FROM webhook_subscriptions WHERE id = ?').run(id).changes > 0;
    })();
  }

  async dispatch(cursor: string, pos: number, deliveries: readonly NewDelivery[]): Promise<number> {
    const insert = this.stmt(
      `INSERT INTO webhook_deliveries (id, subscription_id, event_pos, event_type, body, status, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (subscription_id, event_pos) DO NOTHING`,
    );
    const move = this.stmt('INSERT INTO event_cursors (name, pos) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET pos = excluded.pos');
    return this.db.transaction(() => {
      let added = 0;
      for (const d of deliveries) added += insert.run(d.id, d.subscriptionId, d.eventPos, d.eventType, d.body, d.createdAt, d.createdAt).changes;
      move.run(cursor, pos);
      return added;
    })();
  }

  async due(now: number, limit: number, exclude: readonly string[] = []): Promise<DueDelivery[]> {
    // Per enabled subscription, its head (oldest pending delivery); only heads that are due.
    const rows = this.stmt(
        `SELECT d.id, d.subscription_id, d.event_pos, d.event_type, d.body, d.attempts, s.url, s.secret
           FROM webhook_subscriptions s
           JOIN webhook_deliveries d ON d.id = (
             SELECT p.id FROM webhook_deliveries p WHERE p.subscription_id = s.id AND p.status = 'pending' ORDER BY p.event_pos LIMIT 1)
          WHERE s.enabled = 1 AND d.next_attempt_at <= ? AND s.id NOT IN (SELECT value FROM json_each(?))
          ORDER BY d.next_attempt_at, d.event_pos LIMIT ?`,
      )
      .all(now, JSON.stringify(exclude), limit) as DueRow[];
    return rows.map(toDue);
  }

  async recordAttempt(r: AttemptRecord): Promise<{ applied: boolean; disabled: boolean; consecutiveFailures: number }> {
    return this.db.transaction(() => {
      const finished = r.status === 'pending' ? null : r.at;
      const moved = this.stmt(
          `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status_code = ?, last_error = ?, last_duration_ms = ?, finished_at = ?
            WHERE id = ? AND status = 'pending' AND attempts = ?`,
        )
        .run(r.status, r.attempt, r.nextAttemptAt, r.statusCode, r.error, r.durationMs, finished, r.deliveryId, r.attempt - 1);
      if (moved.changes === 0) return { applied: false, disabled: false, consecutiveFailures: 0 };
      this.stmt('INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)')
        .run(r.deliveryId, r.attempt, r.at, r.statusCode, r.error, r.durationMs);
      const sub = this.stmt(
          `UPDATE webhook_subscriptions SET consecutive_failures = CASE WHEN ? THEN consecutive_failures + 1 ELSE 0 END
            WHERE id = ? RETURNING consecutive_failures, enabled`,
        )
        .get(r.failure ? 1 : 0, r.subscriptionId) as { consecutive_failures: number; enabled: number } | undefined;
      if (!sub) return { applied: true, disabled: false, consecutiveFailures: 0 };
      const reason = r.disableNow ?? (r.failure && sub.consecutive_failures >= r.disableAfterFailures ? `${sub.consecutive_failures} failed attempts in a row` : null);
      let disabled = false;
      if (reason !== null && sub.enabled === 1) {
        this.stmt('UPDATE webhook_subscriptions SET enabled = 0, disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ?').run(r.at, reason, r.at, r.subscriptionId);
        disabled = true;
      }
      return { applied: true, disabled, consecutiveFailures: sub.consecutive_failures };
    })();
  }

  async deliveries(subscriptionId: string, q: DeliveryQuery): Promise<Delivery[]> {
    const where = ['subscription_id = ?'];
    const values: unknown[] = [subscriptionId];
    const add = (sql: string, value: unknown) => {
      where.push(sql);
      values.push(value);
    };
    if (q.status !== undefined) add('status = ?', q.status);
    if (q.beforePos !== undefined) add('event_pos < ?', q.beforePos);
    const rows = this.stmt(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY event_pos DESC LIMIT ?`)
      .all(...values, q.limit) as DeliveryRow[];
    if (rows.length === 0) return [];
    const attempts = this.stmt('SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(rows.map((r) => r.id))) as AttemptRow[];
    return toDeliveries(rows, attempts);
  }

  async pruneDeliveries(before: number, limit: number): Promise<number> {
    return this.db.transaction(() => {
      const ids = (
        this.stmt("SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? ORDER BY finished_at LIMIT ?").all(before, limit) as { id: string }[]
      ).map((r) => r.id);
      if (ids.length === 0) return 0;
      const list = JSON.stringify(ids);
      this.stmt('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?))').run(list);
      return this.stmt('DELETE FROM webhook_deliveries WHERE id IN (SELECT value FROM json_each(?))').run(list).changes;
    })();
  }

  async callbackSecret(tenant: string, candidate: string, now: number): Promise<CallbackSecret> {
    this.stmt('INSERT INTO callback_secrets (tenant, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (tenant) DO NOTHING').run(tenant, candidate, now);
    return toCallbackSecret(this.stmt('SELECT tenant, secret, created_at FROM callback_secrets WHERE tenant = ?').get(tenant) as CallbackSecretRow);
  }

  async setCallbackSecret(tenant: string, secret: string, now: number): Promise<CallbackSecret> {
    const row = this.stmt(
        `INSERT INTO callback_secrets (tenant, secret, created_at) VALUES (?, ?, ?)
         ON CONFLICT (tenant) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
         RETURNING tenant, secret, created_at`,
      )
      .get(tenant, secret, now) as CallbackSecretRow;
    return toCallbackSecret(row);
  }
}
