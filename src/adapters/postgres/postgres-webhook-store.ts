import type pg from 'pg';
import { inTransaction } from './transaction.js';
import type { AttemptRecord, CallbackSecret, Delivery, DeliveryQuery, DueDelivery, NewDelivery, NewWebhook, Webhook, WebhookFilter, WebhookPatch, WebhookStore } from '../../ports/webhook-store.js';
import { DELIVERY_COLUMNS, scopeColumns, toCallbackSecret, type CallbackSecretRow, toDeliveries, toDue, toWebhook, type AttemptRow, type DeliveryRow, type DueRow, type WebhookRow } from '../webhook-rows.js';
import { PG_TYPES } from './rows.js';

const DUE = `SELECT d.id, d.subscription_id, d.event_pos, d.event_type, d.body, d.attempts, s.url, s.secret
  FROM webhook_subscriptions s
  CROSS JOIN LATERAL (
    SELECT p.* FROM webhook_deliveries p WHERE p.subscription_id = s.id AND p.status = 'pending' ORDER BY p.event_pos LIMIT 1) d
  WHERE s.enabled AND d.next_attempt_at <= $1 AND NOT (s.id = ANY($2::text[]))
  ORDER BY d.next_attempt_at, d.event_pos LIMIT $3`;

/**
 * Webhooks in PostgreSQL (migrations/0008_webhooks.sql), on the job store's pool and schema: the
 * dispatcher's delivery rows and its event cursor commit in one transaction.
 */
export class PostgresWebhookStore implements WebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(s: NewWebhook): Promise<void> {
    const { queue, jobId } = scopeColumns(s.scope);
    await this.pool.query(
      `INSERT INTO webhook_subscriptions (id, tenant, url, queue, job_id, events, description, secret, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
      [s.id, s.tenant, s.url, queue, jobId, JSON.stringify(s.events), s.description, s.secret, s.createdAt],
    );
  }

  async callbackSecret(tenant: string, candidate: string, now: number): Promise<CallbackSecret> {
    // Two statements, two snapshots: after a conflict with a concurrent insert, the read sees its row.
    await this.query('INSERT INTO callback_secrets (tenant, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (tenant) DO NOTHING', [tenant, candidate, now]);
    const { rows } = await this.query<CallbackSecretRow>('SELECT tenant, secret, created_at FROM callback_secrets WHERE tenant = $1', [tenant]);
    return toCallbackSecret(rows[0]!);
  }

  async setCallbackSecret(tenant: string, secret: string, now: number): Promise<CallbackSecret> {
    const { rows } = await this.query<CallbackSecretRow>(
      `INSERT INTO callback_secrets (tenant, secret, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (tenant) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
       RETURNING tenant, secret, created_at`,
      [tenant, secret, now],
    );
    return toCallbackSecret(rows[0]!);
  }

  async get(id: string): Promise<Webhook | undefined> {
    const { rows } = await this.query<WebhookRow>('SELECT * FROM webhook_subscriptions WHERE id = $1', [id]);
    return rows[0] ? toWebhook(rows[0]) : undefined;
  }

  async list(filter: WebhookFilter = {}): Promise<Webhook[]> {
    const { rows } = await this.query<WebhookRow>(
      `SELECT * FROM webhook_subscriptions
        WHERE ($1::text IS NULL OR tenant = $1) AND ($2::boolean IS NULL OR enabled = $2) AND ($3::text IS NULL OR job_id = $3)
        ORDER BY created_at, id`,
      [filter.tenant ?? null, filter.enabled ?? null, filter.jobId ?? null],
    );
    return rows.map(toWebhook);
  }

  async update(id: string, patch: WebhookPatch, now: number): Promise<Webhook | undefined> {
    const { rows } = await this.query<WebhookRow>(
      `UPDATE webhook_subscriptions SET updated_at = $2,
          url = COALESCE($3::text, url),
          events = COALESCE($4::jsonb, events),
          description = CASE WHEN $5::boolean THEN $6::text ELSE description END,
          secret = COALESCE($7::text, secret)
        WHERE id = $1 RETURNING *`,
      [
        id,
        now,
        patch.url ?? null,
        patch.events !== undefined ? JSON.stringify(patch.events) : null,
        patch.description !== undefined,
        patch.description ?? null,
        patch.secret ?? null,
      ],
    );
    return rows[0] ? toWebhook(rows[0]) : undefined;
  }

  async setEnabled(id: string, enabled: boolean, now: number, reason?: string): Promise<Webhook | undefined> {
    if (!enabled) {
      await this.pool.query(
        'UPDATE webhook_subscriptions SET enabled = FALSE, disabled_at = $2, disabled_reason = $3, updated_at = $2 WHERE id = $1 AND enabled',
        [id, now, reason ?? 'disabled by its owner'],
      );
      return this.get(id);
    }
    await this.inTransaction(async (c) => {
      await c.query(
        'UPDATE webhook_subscriptions SET enabled = TRUE, disabled_at = NULL, disabled_reason = NULL, consecutive_failures = 0, updated_at = $2 WHERE id = $1',
        [id, now],
      );
      await c.query("UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE subscription_id = $1 AND status = 'pending'", [id, now]);
    });
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    // Deliveries and their attempts go with it (ON DELETE CASCADE).
    const { rowCount } = await this.pool.query('DELETE FROM webhook_subscriptions WHERE id = $1', [id]);
    return (rowCount ?? 0) > 0;
  }

  async dispatch(cursor: string, pos: number, deliveries: readonly NewDelivery[]): Promise<number> {
    return this.inTransaction(async (c) => {
      let added = 0;
      if (deliveries.length > 0) {
        const res = await c.query(
          `INSERT INTO webhook_deliveries (id, subscription_id, event_pos, event_type, body, status, next_attempt_at, created_at)
           SELECT id, sub, pos, type, body, 'pending', at, at
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[]) AS d(id, sub, pos, type, body, at)
           ON CONFLICT (subscription_id, event_pos) DO NOTHING`,
          [
            deliveries.map((d) => d.id),
            deliveries.map((d) => d.subscriptionId),
            deliveries.map((d) => d.eventPos),
            deliveries.map((d) => d.eventType),
            deliveries.map((d) => d.body),
            deliveries.map((d) => d.createdAt),
          ],
        );
        added = res.rowCount ?? 0;
      }
      await c.query('INSERT INTO event_cursors (name, pos) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET pos = excluded.pos', [cursor, pos]);
      return added;
    });
  }

  async due(now: number, limit: number, exclude: readonly string[] = []): Promise<DueDelivery[]> {
    const { rows } = await this.query<DueRow>(DUE, [now, [...exclude], limit]);
    return rows.map(toDue);
  }

  async recordAttempt(r: AttemptRecord): Promise<{ applied: boolean; disabled: boolean; consecutiveFailures: number }> {
    return this.inTransaction(async (c) => {
      const finished = r.status === 'pending' ? null : r.at;
      const moved = await c.query(
        `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_status_code = $5, last_error = $6, last_duration_ms = $7, finished_at = $8
          WHERE id = $1 AND status = 'pending' AND attempts = $3::integer - 1`,
        [r.deliveryId, r.status, r.attempt, r.nextAttemptAt, r.statusCode, r.error, r.durationMs, finished],
      );
      if ((moved.rowCount ?? 0) === 0) return { applied: false, disabled: false, consecutiveFailures: 0 };
      await c.query('INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
        r.deliveryId,
        r.attempt,
        r.at,
        r.statusCode,
        r.error,
        r.durationMs,
      ]);
      const { rows } = await c.query<{ consecutive_failures: number; enabled: boolean }>(
        `UPDATE webhook_subscriptions SET consecutive_failures = CASE WHEN $2::boolean THEN consecutive_failures + 1 ELSE 0 END
          WHERE id = $1 RETURNING consecutive_failures, enabled`,
        [r.subscriptionId, r.failure],
      );
      const sub = rows[0];
      if (!sub) return { applied: true, disabled: false, consecutiveFailures: 0 };
      const reason = r.disableNow ?? (r.failure && sub.consecutive_failures >= r.disableAfterFailures ? `${sub.consecutive_failures} failed attempts in a row` : null);
      let disabled = false;
      if (reason !== null && sub.enabled) {
        await c.query('UPDATE webhook_subscriptions SET enabled = FALSE, disabled_at = $2, disabled_reason = $3, updated_at = $2 WHERE id = $1', [r.subscriptionId, r.at, reason]);
        disabled = true;
      }
      return { applied: true, disabled, consecutiveFailures: sub.consecutive_failures };
    });
  }

  async deliveries(subscriptionId: string, q: DeliveryQuery): Promise<Delivery[]> {
    const { rows } = await this.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
        WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR event_pos < $3)
        ORDER BY event_pos DESC LIMIT $4`,
      [subscriptionId, q.status ?? null, q.beforePos ?? null, q.limit],
    );
    if (rows.length === 0) return [];
    const attempts = await this.query<AttemptRow>('SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = ANY($1::text[])', [
      rows.map((r) => r.id),
    ]);
    return toDeliveries(rows, attempts.rows);
  }

  async pruneDeliveries(before: number, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1 ORDER BY finished_at LIMIT $2)",
      [before, limit],
    );
    return rowCount ?? 0;
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ text, values, types: PG_TYPES });
  }

  private inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}
