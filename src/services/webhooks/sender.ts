import { decideAttempt, type WebhookPolicy } from '../../domain/webhooks/policy.js';
import type { Clock } from '../../ports/clock.js';
import type { DueDelivery, WebhookStore } from '../../ports/webhook-store.js';
import type { AddressGuard } from '../../net/address-guard.js';
import { Periodic } from '../maintenance/periodic.js';
import { postWebhook } from './post.js';

/** Said when a subscription is disabled by its failures (or a 410 Gone). */
export interface WebhookDisabled {
  subscriptionId: string;
  url: string;
  reason: string;
  consecutiveFailures: number;
}

export interface SenderOptions {
  policy: WebhookPolicy;
  /** Where deliveries may connect (the policy's allowPrivateNetworks). */
  guard: AddressGuard;
  /** How often due deliveries are looked for when nothing woke the sender. @defaultValue 500 ms */
  pollIntervalMs?: number;
  /** Finished deliveries are deleted this long after they finished. @defaultValue 7 days */
  retentionMs?: number;
  random?: () => number;
  onDisabled?: (event: WebhookDisabled) => void;
  /** Told of every recorded attempt (metrics): whether it failed, and whether the delivery was given up. */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

export interface WebhookAttempt {
  failed: boolean;
  gaveUp: boolean;
  durationMs: number;
}

const PRUNE_EVERY_MS = 600_000;

/**
 * A leader duty: sends due deliveries from the store, at most `policy.concurrency` at once and one
 * per subscription at a time (its oldest pending first, so a subscription gets its events in
 * order), and records every attempt. Work lives in the store: a restart or a new leader picks up
 * what is pending. Stopping aborts requests in flight without counting them; they go again.
 */
export class WebhookSender {
  private readonly loop: Periodic;
  /** The send in flight per subscription. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private stopping = new AbortController();
  private woken = false;
  private lastPrune = 0;

  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly options: SenderOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.loop = new Periodic(clock, options.pollIntervalMs ?? 500, () => this.runOnce(), onError);
  }

  start(): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Deliveries were created or a send finished: look again now. */
  wake(): void {
    this.woken = true;
    this.loop.arm(0);
  }

  /** Starts sends for what is due (not waiting for them); returns how many it started. */
  async runOnce(): Promise<number> {
    let started = 0;
    do {
      this.woken = false;
      const free = this.options.policy.concurrency - this.inFlight.size;
      if (free <= 0 || this.stopping.signal.aborted) break;
      const due = await this.store.due(this.clock.now(), free, [...this.inFlight.keys()]);
      for (const d of due) this.launch(d);
      started += due.length;
    } while (this.woken);
    await this.pruneNow();
    return started;
  }

  /** Resolves when no send is in flight (tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private launch(d: DueDelivery): void {
    const send = this.deliver(d)
      .catch(this.onError)
      .finally(() => {
        this.inFlight.delete(d.subscriptionId);
        if (!this.stopping.signal.aborted) this.wake();
      });
    this.inFlight.set(d.subscriptionId, send);
  }

  private async deliver(d: DueDelivery): Promise<void> {
    const { policy } = this.options;
    const attempt = d.attempts + 1;
    const result = await postWebhook(
      { url: d.url, secret: d.secret, body: d.body, eventId: String(d.eventPos), eventType: d.eventType, deliveryId: d.id, attempt },
      { timeoutMs: policy.timeoutMs, timestamp: Math.floor(this.clock.now() / 1000), guard: this.options.guard, signal: this.stopping.signal },
    );
    if (result.aborted) return;
    const now = this.clock.now();
    const decision = decideAttempt(result, attempt, policy, now, this.options.random ?? Math.random);
    const recorded = await this.store.recordAttempt({
      deliveryId: d.id,
      subscriptionId: d.subscriptionId,
      attempt,
      at: now,
      statusCode: result.statusCode,
      error: result.error,
      durationMs: result.durationMs,
      status: decision.status,
      nextAttemptAt: decision.nextAttemptAt,
      failure: decision.failure,
      disableAfterFailures: policy.disableAfterFailures,
      disableNow: decision.disableNow,
    });
    this.options.onAttempt?.({ failed: decision.status !== 'delivered', gaveUp: decision.status === 'failed', durationMs: result.durationMs });
    if (recorded.disabled) {
      const webhook = await this.store.get(d.subscriptionId);
      this.options.onDisabled?.({
        subscriptionId: d.subscriptionId,
        url: d.url,
        reason: webhook?.disabledReason ?? 'failures',
        consecutiveFailures: recorded.consecutiveFailures,
      });
    }
  }

  /** Every 10 minutes: deletes finished deliveries past retention. */
  private async pruneNow(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    const before = now - (this.options.retentionMs ?? 7 * 86_400_000);
    while ((await this.store.pruneDeliveries(before, 5000)) === 5000) {
      // a backlog is cleared in one run
    }
  }
}
