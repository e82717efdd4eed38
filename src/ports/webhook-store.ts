import type { WebhookScope } from '../domain/webhooks/matching.js';

/**
 * Webhook subscriptions and their deliveries, stored beside the jobs (same database, tables from
 * the store's migrations: sqlite 0007, postgres 0008). The dispatcher turns matching events of the
 * event log into delivery rows in the same transaction that moves its cursor, and the sender picks
 * due rows, so deliveries outlive a restart or a change of leader. Every adapter runs
 * test/conformance/webhook-store-conformance.ts.
 */
export interface WebhookStore {
  create(sub: NewWebhook): Promise<void>;
  get(id: string): Promise<Webhook | undefined>;
  /** Subscriptions oldest first, filtered. */
  list(filter?: WebhookFilter): Promise<Webhook[]>;
  /** Changes the given fields; undefined when there is no such subscription. */
  update(id: string, patch: WebhookPatch, now: number): Promise<Webhook | undefined>;
  /**
   * Enables (clearing the run of failures and the disable reason, and making its pending
   * deliveries due at `now`) or disables (with `reason`) a subscription.
   */
  setEnabled(id: string, enabled: boolean, now: number, reason?: string): Promise<Webhook | undefined>;
  /** Deletes a subscription with its deliveries and their attempts. */
  delete(id: string): Promise<boolean>;

  /**
   * One transaction: inserts `deliveries` (a delivery already there for the same subscription and
   * event is left as it is) and sets event cursor `cursor` to `pos`. Returns how many were new.
   */
  dispatch(cursor: string, pos: number, deliveries: readonly NewDelivery[]): Promise<number>;
  /**
   * Due deliveries to send: per enabled subscription not in `exclude`, its oldest pending delivery
   * (by event position) if that one is due at `now`; soonest due first, at most `limit`.
   */
  due(now: number, limit: number, exclude?: readonly string[]): Promise<DueDelivery[]>;
  /**
   * Records one attempt of a pending delivery, guarded by its attempt count (another sender that
   * recorded first wins; `applied` false). Updates the subscription's run of failures, disabling it
   * when the run reaches `disableAfterFailures` or when `disableNow` gives a reason.
   */
  recordAttempt(record: AttemptRecord): Promise<{ applied: boolean; disabled: boolean; consecutiveFailures: number }>;
  /** A subscription's deliveries, newest event first, each with its attempts. */
  deliveries(subscriptionId: string, query: DeliveryQuery): Promise<Delivery[]>;
  /** Deletes finished (delivered or failed) deliveries finished before `before`; at most `limit`. */
  pruneDeliveries(before: number, limit: number): Promise<number>;

  /**
   * The tenant's job-callback secret (table callback_secrets, sqlite 0010, postgres 0011): the one
   * the insert trigger copies into each callback subscription. Stores `candidate` as it when the
   * tenant has none yet (a concurrent maker wins: its secret is returned).
   */
  callbackSecret(tenant: string, candidate: string, now: number): Promise<CallbackSecret>;
  /** Replaces (or makes) the tenant's callback secret; subscriptions made before keep theirs. */
  setCallbackSecret(tenant: string, secret: string, now: number): Promise<CallbackSecret>;
}

/** A tenant's job-callback signing secret. */
export interface CallbackSecret {
  tenant: string;
  secret: string;
  createdAt: number;
}

export interface Webhook {
  id: string;
  tenant: string;
  url: string;
  scope: WebhookScope;
  /** Normalized event types (`job.succeeded`, `job.*`); empty: all. */
  events: string[];
  description: string | null;
  /** Signs deliveries; shown to the owner only when created or rotated. */
  secret: string;
  enabled: boolean;
  disabledAt: number | null;
  disabledReason: string | null;
  /** Failed attempts in a row since the last success or enable. */
  consecutiveFailures: number;
  createdAt: number;
  updatedAt: number;
}

export type NewWebhook = Omit<Webhook, 'enabled' | 'disabledAt' | 'disabledReason' | 'consecutiveFailures' | 'updatedAt'>;

export interface WebhookFilter {
  tenant?: string;
  enabled?: boolean;
  jobId?: string;
}

export interface WebhookPatch {
  url?: string;
  events?: string[];
  description?: string | null;
  secret?: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface NewDelivery {
  /** UUIDv7: the Docket-Delivery-Id header. */
  id: string;
  subscriptionId: string;
  /** The event's log position: the envelope's id. */
  eventPos: number;
  /** `docket.job.succeeded`. */
  eventType: string;
  /** The JSON body, fixed when the delivery is created: every attempt sends the same bytes. */
  body: string;
  createdAt: number;
}

/** A delivery ready to send, with what sending needs of its subscription. */
export interface DueDelivery {
  id: string;
  subscriptionId: string;
  eventPos: number;
  eventType: string;
  body: string;
  /** Attempts made so far. */
  attempts: number;
  url: string;
  secret: string;
}

export interface AttemptRecord {
  deliveryId: string;
  subscriptionId: string;
  /** This attempt's number (attempts so far + 1): the guard. */
  attempt: number;
  at: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  /** Whether the attempt failed (grows the subscription's run of failures; else resets it). */
  failure: boolean;
  disableAfterFailures: number;
  disableNow: string | null;
}

export interface DeliveryAttempt {
  attempt: number;
  at: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface Delivery {
  id: string;
  subscriptionId: string;
  eventPos: number;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  createdAt: number;
  finishedAt: number | null;
  history: DeliveryAttempt[];
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  /** Deliveries of events before this position (the previous page's last `eventPos`). */
  beforePos?: number;
  limit: number;
}
