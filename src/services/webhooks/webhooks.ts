import { DEFAULT_WEBHOOK_POLICY, type WebhookPolicy } from '../../domain/webhooks/policy.js';
import { AddressGuard } from '../../net/address-guard.js';
import type { Clock } from '../../ports/clock.js';
import type { EventLog } from '../../ports/event-log.js';
import type { WebhookStore } from '../../ports/webhook-store.js';
import { WebhookDispatcher } from './dispatcher.js';
import { WebhookSender, type WebhookAttempt, type WebhookDisabled } from './sender.js';
import { WebhookService } from './service.js';

/** How an engine runs webhooks (DocketParts.webhooks). */
export interface WebhookOptions {
  /** @defaultValue the store beside the job store (SQLite or PostgreSQL) */
  store?: WebhookStore;
  /** Retries, timeouts, disabling; over the config file's `webhooks` and the defaults. */
  policy?: Partial<WebhookPolicy>;
  /** Pause of the dispatcher when the log is drained. @defaultValue 200 ms */
  dispatchIntervalMs?: number;
  /** Pause of the sender when nothing woke it. @defaultValue 500 ms */
  pollIntervalMs?: number;
  /** How long finished deliveries stay in the log. @defaultValue 7 days */
  retentionMs?: number;
  /** Told when a subscription is disabled by its failures. @defaultValue a warning line on stderr */
  onDisabled?: (event: WebhookDisabled) => void;
  /** Told of every recorded delivery attempt (the engine's metrics count failures). */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

/** Merges partial policies over the defaults (later ones win), backoff field by field. */
export function webhookPolicy(...parts: (Partial<WebhookPolicy> | undefined)[]): WebhookPolicy {
  let policy = DEFAULT_WEBHOOK_POLICY;
  for (const p of parts) if (p) policy = { ...policy, ...p, backoff: { ...policy.backoff, ...p.backoff } };
  return policy;
}

/**
 * Webhooks in an engine: the service (any node answers the API) and, as one leader duty, the
 * dispatcher and the sender.
 */
export class Webhooks {
  readonly service: WebhookService;
  readonly dispatcher: WebhookDispatcher;
  readonly sender: WebhookSender;
  readonly policy: WebhookPolicy;

  constructor(
    events: EventLog,
    readonly store: WebhookStore,
    clock: Clock,
    options: WebhookOptions & { source: string; random?: () => number },
    onError: (err: unknown) => void,
  ) {
    this.policy = webhookPolicy(options.policy);
    // One guard for the routes' checks and the deliveries: they allow the same networks.
    const guard = new AddressGuard(this.policy.allowPrivateNetworks);
    this.service = new WebhookService(store, clock, { source: options.source, timeoutMs: this.policy.timeoutMs, guard });
    this.sender = new WebhookSender(
      store,
      clock,
      {
        policy: this.policy,
        guard,
        ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
        ...(options.retentionMs !== undefined ? { retentionMs: options.retentionMs } : {}),
        ...(options.random ? { random: options.random } : {}),
        onDisabled: options.onDisabled ?? warnDisabled,
        ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
      },
      onError,
    );
    this.dispatcher = new WebhookDispatcher(
      events,
      store,
      clock,
      { source: options.source, ...(options.dispatchIntervalMs !== undefined ? { intervalMs: options.dispatchIntervalMs } : {}), onDispatched: () => this.sender.wake() },
      onError,
    );
  }

  start(): void {
    this.dispatcher.start();
    this.sender.start();
  }

  async stop(): Promise<void> {
    await this.dispatcher.stop();
    await this.sender.stop();
  }
}

/** The default report: a pino-shaped warning line (level 40) on stderr, beside the server's own log. */
function warnDisabled(e: WebhookDisabled): void {
  const line = { level: 40, time: Date.now(), msg: 'webhook subscription disabled', webhook: e.subscriptionId, url: e.url, reason: e.reason, consecutiveFailures: e.consecutiveFailures };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}
