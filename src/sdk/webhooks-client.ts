import type { Static } from '@sinclair/typebox';
import type {
  CallbackSecretReply,
  CreateWebhookBody,
  DeliveriesReply,
  DeliveryView,
  PingReply,
  UpdateWebhookBody,
  WebhookView,
  WebhookWithSecret,
} from '../interfaces/http/webhook-schemas.js';

export type WebhookInfo = Static<typeof WebhookView>;
/** The reply of create and rotateSecret: the only time the signing secret is shown. */
export type WebhookWithSecretInfo = Static<typeof WebhookWithSecret>;
export type CreateWebhookInput = Static<typeof CreateWebhookBody>;
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>;
export type DeliveryInfo = Static<typeof DeliveryView>;
export type DeliveryPage = Static<typeof DeliveriesReply>;
export type PingResult = Static<typeof PingReply>;
/** The secret that signs a tenant's job callbacks (a job's `callbackUrl`). */
export type CallbackSecretInfo = Static<typeof CallbackSecretReply>;

/** What the client calls requests through: DocketClient.request. */
interface Requester {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

const enc = encodeURIComponent;

/** The /v1/webhooks endpoints (docs/webhooks.md), as `client.webhooks`. */
export class WebhooksClient {
  constructor(private readonly api: Requester) {}

  /** Subscribes a URL; the reply carries the signing secret (keep it: it is not shown again). */
  create(input: CreateWebhookInput): Promise<WebhookWithSecretInfo> {
    return this.api.request('POST', '/v1/webhooks', input);
  }

  /** Subscriptions of the caller's tenant (admins: every tenant, or `tenant`). */
  async list(options: { tenant?: string } = {}): Promise<WebhookInfo[]> {
    const qs = options.tenant ? `?tenant=${enc(options.tenant)}` : '';
    return (await this.api.request<{ webhooks: WebhookInfo[] }>('GET', `/v1/webhooks${qs}`)).webhooks;
  }

  get(id: string): Promise<WebhookInfo> {
    return this.api.request('GET', `/v1/webhooks/${enc(id)}`);
  }

  /** Changes url, events, description, or enabled. */
  update(id: string, change: UpdateWebhookInput): Promise<WebhookInfo> {
    return this.api.request('PATCH', `/v1/webhooks/${enc(id)}`, change);
  }

  async delete(id: string): Promise<void> {
    await this.api.request('DELETE', `/v1/webhooks/${enc(id)}`);
  }

  /** Enables a disabled subscription: its pending deliveries go out now. */
  enable(id: string): Promise<WebhookInfo> {
    return this.api.request('POST', `/v1/webhooks/${enc(id)}/enable`);
  }

  /** A new signing secret, used from the next attempt on; the reply carries it. */
  rotateSecret(id: string): Promise<WebhookWithSecretInfo> {
    return this.api.request('POST', `/v1/webhooks/${enc(id)}/rotate-secret`);
  }

  /** Sends a signed `docket.webhook.ping` now and says what the receiver answered. */
  test(id: string): Promise<PingResult> {
    return this.api.request('POST', `/v1/webhooks/${enc(id)}/test`);
  }

  /**
   * The secret that signs the caller tenant's job callbacks (jobs submitted with `callbackUrl`),
   * made now if the tenant has none yet (docs/webhooks.md#job-callbacks).
   */
  callbackSecret(): Promise<CallbackSecretInfo> {
    return this.api.request('GET', '/v1/webhooks/callback-secret');
  }

  /** A new callback secret: it signs the callbacks of jobs submitted from now on (earlier jobs keep theirs). */
  rotateCallbackSecret(): Promise<CallbackSecretInfo> {
    return this.api.request('POST', '/v1/webhooks/callback-secret/rotate');
  }

  /** The delivery log, newest event first; pass `nextCursor` back as `cursor`. */
  deliveries(id: string, options: { status?: 'pending' | 'delivered' | 'failed'; limit?: number; cursor?: string } = {}): Promise<DeliveryPage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options)) if (value !== undefined) query.set(key, String(value));
    const qs = query.toString();
    return this.api.request('GET', `/v1/webhooks/${enc(id)}/deliveries${qs ? `?${qs}` : ''}`);
  }
}
