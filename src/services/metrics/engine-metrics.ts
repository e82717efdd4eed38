import { Counter, type Metric } from 'prom-client';
import type { WebhookAttempt } from '../webhooks/sender.js';

/**
 * Counters of things that happen in this process and are not in the event log: webhook delivery
 * attempts (the sender runs on the leader). /metrics serves them beside the cluster-wide numbers;
 * the docs say which metrics are per node.
 */
export class EngineMetrics {
  readonly webhookFailures = new Counter({
    name: 'docket_webhook_delivery_failures_total',
    help: 'Webhook delivery attempts that failed (non-2xx, timeout, refused), on this node (the leader sends)',
    registers: [],
  });
  readonly webhookGivenUp = new Counter({
    name: 'docket_webhook_deliveries_given_up_total',
    help: 'Webhook deliveries given up after their last attempt, on this node (the leader sends)',
    registers: [],
  });
  readonly webhookAttempts = new Counter({
    name: 'docket_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts, on this node (the leader sends)',
    registers: [],
  });

  /** The metrics to serve. */
  all(): Metric[] {
    return [this.webhookAttempts, this.webhookFailures, this.webhookGivenUp];
  }

  /** A sender's onAttempt that counts, then calls `next` (the caller's own, if any). */
  webhookAttempt(next?: (a: WebhookAttempt) => void): (a: WebhookAttempt) => void {
    return (a) => {
      this.webhookAttempts.inc();
      if (a.failed) this.webhookFailures.inc();
      if (a.gaveUp) this.webhookGivenUp.inc();
      next?.(a);
    };
  }
}
