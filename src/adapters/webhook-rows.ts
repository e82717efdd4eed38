import type { WebhookScope } from '../domain/webhooks/matching.js';
import type { CallbackSecret, Delivery, DeliveryAttempt, DeliveryStatus, DueDelivery, Webhook } from '../ports/webhook-store.js';

/** Rows of the webhook tables as both adapters read them (numbers already numbers). */
export interface WebhookRow {
  id: string;
  tenant: string;
  url: string;
  queue: string | null;
  job_id: string | null;
  events: string | string[];
  description: string | null;
  secret: string;
  enabled: number | boolean;
  disabled_at: number | null;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: number;
  updated_at: number;
}

export interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_pos: number;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  created_at: number;
  finished_at: number | null;
}

export interface DueRow {
  id: string;
  subscription_id: string;
  event_pos: number;
  event_type: string;
  body: string;
  attempts: number;
  url: string;
  secret: string;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export function scopeColumns(scope: WebhookScope): { queue: string | null; jobId: string | null } {
  return { queue: scope.kind === 'queue' ? scope.queue : null, jobId: scope.kind === 'job' ? scope.jobId : null };
}

export function toWebhook(r: WebhookRow): Webhook {
  const scope: WebhookScope = r.job_id !== null ? { kind: 'job', jobId: r.job_id } : r.queue !== null ? { kind: 'queue', queue: r.queue } : { kind: 'tenant' };
  return {
    id: r.id,
    tenant: r.tenant,
    url: r.url,
    scope,
    events: typeof r.events === 'string' ? (JSON.parse(r.events) as string[]) : r.events,
    description: r.description,
    secret: r.secret,
    enabled: r.enabled === true || r.enabled === 1,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
    consecutiveFailures: r.consecutive_failures,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toDue(r: DueRow): DueDelivery {
  return { id: r.id, subscriptionId: r.subscription_id, eventPos: r.event_pos, eventType: r.event_type, body: r.body, attempts: r.attempts, url: r.url, secret: r.secret };
}

export function toAttempt(r: AttemptRow): DeliveryAttempt {
  return { attempt: r.attempt, at: r.at, statusCode: r.status_code, error: r.error, durationMs: r.duration_ms };
}

/** Deliveries with their attempts (given for any of them, in attempt order). */
export function toDeliveries(rows: readonly DeliveryRow[], attempts: readonly AttemptRow[]): Delivery[] {
  const byDelivery = new Map<string, DeliveryAttempt[]>();
  for (const a of attempts) {
    const list = byDelivery.get(a.delivery_id) ?? [];
    list.push(toAttempt(a));
    byDelivery.set(a.delivery_id, list);
  }
  return rows.map((r) => ({
    id: r.id,
    subscriptionId: r.subscription_id,
    eventPos: r.event_pos,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastDurationMs: r.last_duration_ms,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    history: (byDelivery.get(r.id) ?? []).sort((a, b) => a.attempt - b.attempt),
  }));
}

export const DELIVERY_COLUMNS = 'id, subscription_id, event_pos, event_type, status, attempts, next_attempt_at, last_status_code, last_error, last_duration_ms, created_at, finished_at';

/** A row of callback_secrets. */
export interface CallbackSecretRow {
  tenant: string;
  secret: string;
  created_at: number;
}

export function toCallbackSecret(r: CallbackSecretRow): CallbackSecret {
  return { tenant: r.tenant, secret: r.secret, createdAt: Number(r.created_at) };
}
