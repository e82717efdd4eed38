import { v7 as uuidv7 } from 'uuid';
import { NotFoundError, ValidationError, type Issue } from '../../domain/errors.js';
import { NAME_PATTERN } from '../../domain/job-input.js';
import { normalizeEventTypes, type WebhookScope } from '../../domain/webhooks/matching.js';
import type { AttemptResult } from '../../domain/webhooks/policy.js';
import { newCallbackSecret, newSecret } from '../../domain/webhooks/signing.js';
import type { Clock } from '../../ports/clock.js';
import type { CallbackSecret, Delivery, DeliveryStatus, Webhook, WebhookStore } from '../../ports/webhook-store.js';
import type { AddressGuard } from '../../net/address-guard.js';
import { postWebhook } from './post.js';

/** What a caller asks for when subscribing. */
export interface WebhookInput {
  url: string;
  /** Event types (`job.succeeded`, `job.*`, `*`); absent or empty: all. */
  events?: string[];
  /** Only this queue's events. */
  queue?: string;
  /** Only this job's events. */
  jobId?: string;
  description?: string;
}

export interface WebhookChange {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

export interface WebhookServiceOptions {
  /** The envelopes' source (the cluster), for pings. */
  source: string;
  /** How long a ping waits for its answer. */
  timeoutMs: number;
  /** Where subscriptions, callbacks and pings may point. */
  guard: AddressGuard;
}

const NAME = new RegExp(NAME_PATTERN);
const MAX_URL = 2048;

/**
 * Webhook subscriptions, per tenant: create (with a fresh signing secret, shown once), read,
 * change, enable, rotate the secret, delete, read the delivery log, ping. `visible` is the tenant
 * the caller may see (null: every tenant, an admin's view); another tenant's subscription is
 * answered like a missing one.
 */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly options: WebhookServiceOptions,
  ) {}

  /** Creates a subscription of `tenant`. The result carries the secret: the only time it is shown. */
  async create(tenant: string, input: WebhookInput): Promise<Webhook> {
    const issues: Issue[] = [];
    const url = await this.checkTarget(input.url, '/url', issues);
    const { events, issues: typeIssues } = normalizeEventTypes(input.events ?? []);
    issues.push(...typeIssues);
    const scope = scopeOf(input, issues);
    if (issues.length > 0) throw new ValidationError(issues);
    const now = this.clock.now();
    const webhook = { id: uuidv7(), tenant, url, scope, events, description: input.description ?? null, secret: newSecret(), createdAt: now };
    await this.store.create(webhook);
    return (await this.store.get(webhook.id))!;
  }

  /**
   * A subscription to one job's events, by default the events that end it (succeeded, failed,
   * cancelled, expired). A job's `callbackUrl` does not come here: the store's insert trigger makes
   * that subscription in the job's own transaction, signed with the tenant's callback secret.
   */
  subscribeJob(tenant: string, jobId: string, url: string, events: string[] = ['job.succeeded', 'job.failed', 'job.cancelled', 'job.expired']): Promise<Webhook> {
    return this.create(tenant, { url, jobId, events });
  }

  /**
   * The secret that signs `tenant`'s job callbacks (docs/webhooks.md#job-callbacks), made now if the
   * tenant has none yet (the first job with a callbackUrl makes it otherwise).
   */
  callbackSecret(tenant: string): Promise<CallbackSecret> {
    return this.store.callbackSecret(tenant, newCallbackSecret(), this.clock.now());
  }

  /**
   * A new callback secret for `tenant`. It signs the callbacks of jobs submitted from now on; the
   * subscriptions of jobs submitted before keep the secret they were made with.
   */
  rotateCallbackSecret(tenant: string): Promise<CallbackSecret> {
    return this.store.setCallbackSecret(tenant, newCallbackSecret(), this.clock.now());
  }

  /**
   * A subscription's url or a job's callbackUrl, checked as checkUrl does and for where it points:
   * an address or a name resolving to one that is not public (and not allowed by the operator) is
   * an issue at `path`. Returns the normalized URL.
   */
  async checkTarget(raw: string, path: string, issues: Issue[]): Promise<string> {
    const before = issues.length;
    const url = checkUrl(raw, issues, path);
    if (issues.length > before) return url;
    const refusal = await this.options.guard.urlRefusal(url);
    if (refusal) issues.push({ path, message: `${refusal}; an operator may open a network with webhooks.allowPrivateNetworks` });
    return url;
  }

  async get(id: string, visible: string | null): Promise<Webhook> {
    const webhook = await this.store.get(id);
    if (!webhook || (visible !== null && webhook.tenant !== visible)) throw new NotFoundError('webhook', id);
    return webhook;
  }

  /** Subscriptions of `tenant` (undefined: every tenant), oldest first. */
  list(tenant: string | undefined): Promise<Webhook[]> {
    return this.store.list(tenant !== undefined ? { tenant } : {});
  }

  async update(id: string, visible: string | null, change: WebhookChange): Promise<Webhook> {
    await this.get(id, visible);
    const issues: Issue[] = [];
    const url = change.url !== undefined ? await this.checkTarget(change.url, '/url', issues) : undefined;
    const events = change.events !== undefined ? normalizeEventTypes(change.events) : undefined;
    if (events) issues.push(...events.issues);
    if (issues.length > 0) throw new ValidationError(issues);
    const now = this.clock.now();
    let webhook = await this.store.update(
      id,
      { ...(url !== undefined ? { url } : {}), ...(events ? { events: events.events } : {}), ...(change.description !== undefined ? { description: change.description } : {}) },
      now,
    );
    if (change.enabled !== undefined) webhook = await this.store.setEnabled(id, change.enabled, now);
    if (!webhook) throw new NotFoundError('webhook', id);
    return webhook;
  }

  /** Enables a (disabled) subscription: its run of failures starts over and pending deliveries are due now. */
  async enable(id: string, visible: string | null): Promise<Webhook> {
    await this.get(id, visible);
    const webhook = await this.store.setEnabled(id, true, this.clock.now());
    if (!webhook) throw new NotFoundError('webhook', id);
    return webhook;
  }

  /** A new signing secret, effective for the next attempt; the result carries it (shown this once). */
  async rotateSecret(id: string, visible: string | null): Promise<Webhook> {
    await this.get(id, visible);
    const webhook = await this.store.update(id, { secret: newSecret() }, this.clock.now());
    if (!webhook) throw new NotFoundError('webhook', id);
    return webhook;
  }

  async delete(id: string, visible: string | null): Promise<void> {
    await this.get(id, visible);
    await this.store.delete(id);
  }

  /** The delivery log, newest event first; `beforePos` pages on. */
  async deliveries(id: string, visible: string | null, query: { status?: DeliveryStatus; beforePos?: number; limit: number }): Promise<Delivery[]> {
    await this.get(id, visible);
    return this.store.deliveries(id, query);
  }

  /**
   * Sends a signed `docket.webhook.ping` now, from this process, and says what the receiver
   * answered. Not recorded in the delivery log and no failure counted: it is for setting up.
   */
  async ping(id: string, visible: string | null): Promise<AttemptResult & { eventId: string }> {
    const webhook = await this.get(id, visible);
    const now = this.clock.now();
    const eventId = `ping-${uuidv7()}`;
    const body = JSON.stringify({
      specversion: '1.0',
      id: eventId,
      type: 'docket.webhook.ping',
      source: this.options.source,
      time: new Date(now).toISOString(),
      tenant: webhook.tenant,
      subject: webhook.id,
      data: { webhookId: webhook.id },
    });
    const result = await postWebhook(
      { url: webhook.url, secret: webhook.secret, body, eventId, eventType: 'docket.webhook.ping', deliveryId: eventId, attempt: 1 },
      { timeoutMs: this.options.timeoutMs, timestamp: Math.floor(now / 1000), guard: this.options.guard },
    );
    if (result.aborted) throw new Error('ping aborted');
    return { eventId, statusCode: result.statusCode, error: result.error, durationMs: result.durationMs };
  }
}

/** An absolute http(s) URL without credentials, at most 2048 characters; issues name `/url`. */
export function checkUrl(raw: string, issues: Issue[], path = '/url'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    issues.push({ path, message: `"${raw.slice(0, 100)}" is not an absolute URL, e.g. https://example.com/hooks/docket` });
    return raw;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') issues.push({ path, message: `must be an http or https URL (got ${url.protocol.slice(0, 20)})` });
  else if (url.username || url.password) issues.push({ path, message: 'must not carry credentials (user:password@): verify deliveries by their signature instead' });
  else if (raw.length > MAX_URL) issues.push({ path, message: `at most ${MAX_URL} characters` });
  return url.toString();
}

function scopeOf(input: WebhookInput, issues: Issue[]): WebhookScope {
  if (input.queue !== undefined && input.jobId !== undefined) {
    issues.push({ path: '/jobId', message: 'a subscription listens to a queue or to a job, not both: drop queue or jobId' });
  }
  if (input.queue !== undefined) {
    if (!NAME.test(input.queue)) issues.push({ path: '/queue', message: `"${input.queue.slice(0, 100)}" is not a valid queue name` });
    return { kind: 'queue', queue: input.queue };
  }
  if (input.jobId !== undefined) {
    if (!NAME.test(input.jobId)) issues.push({ path: '/jobId', message: `"${input.jobId.slice(0, 100)}" is not a valid job id` });
    return { kind: 'job', jobId: input.jobId };
  }
  return { kind: 'tenant' };
}
