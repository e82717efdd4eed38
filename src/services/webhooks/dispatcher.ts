import { v7 as uuidv7 } from 'uuid';
import { SubscriptionIndex } from '../../domain/webhooks/matching.js';
import type { Clock } from '../../ports/clock.js';
import type { EventLog, LogEvent } from '../../ports/event-log.js';
import type { NewDelivery, Webhook, WebhookStore } from '../../ports/webhook-store.js';
import { envelopeOf } from '../events/envelope.js';
import { Periodic } from '../maintenance/periodic.js';

/** The dispatcher's cursor in the event log (the relay keeps events until it has passed them). */
export const WEBHOOK_CURSOR = 'webhooks';

export interface DispatcherOptions {
  /** The envelopes' source. */
  source: string;
  /** Pause between runs when the log is drained. @defaultValue 200 ms */
  intervalMs?: number;
  /** Events read per step. @defaultValue 1000 */
  batchSize?: number;
  /** Told after a run that created deliveries (the sender wakes up). */
  onDispatched?: () => void;
}

/**
 * A leader duty: reads the event log from its cursor, matches each event against the enabled
 * subscriptions, and writes one delivery row per match, in the transaction that moves its cursor.
 * A crash before that commit reads the same events again; a delivery already written for the same
 * subscription and event is not written twice. A subscription receives events that happened from
 * its creation on, and none while it is disabled.
 */
export class WebhookDispatcher {
  private readonly loop: Periodic;
  private readonly batch: number;

  constructor(
    private readonly events: EventLog,
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly options: DispatcherOptions,
    onError: (err: unknown) => void,
  ) {
    this.batch = options.batchSize ?? 1000;
    this.loop = new Periodic(clock, options.intervalMs ?? 200, () => this.runOnce(), onError);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** New events were positioned: run soon rather than at the next interval. */
  wake(): void {
    this.loop.arm(0);
  }

  /** Dispatches until the log is drained; returns how many deliveries were created. */
  async runOnce(): Promise<number> {
    let created = 0;
    for (;;) {
      const after = (await this.events.cursor(WEBHOOK_CURSOR)) ?? 0;
      // Read before the subscriptions: a subscription created after this read matches only
      // events later than it, which are past `last` (see the skip below).
      const last = await this.events.lastPosition();
      if (last <= after) break;
      const subs = await this.store.list({ enabled: true });
      if (subs.length === 0) {
        // Nobody listens: pass the events without reading them.
        await this.store.dispatch(WEBHOOK_CURSOR, last, []);
        break;
      }
      const read = await this.events.read(after, this.batch);
      // Only up to `last`: an event past it may come from a transaction that committed after the
      // subscriptions were read, with a subscription of its own (a job's callbackUrl subscribes the
      // job in its insert) or after one made then; the next round reads it with them.
      const events = read.filter((e) => e.pos <= last);
      if (events.length === 0) break;
      created += await this.store.dispatch(WEBHOOK_CURSOR, events[events.length - 1]!.pos, this.deliveriesOf(events, subs));
      if (read.length < this.batch) break;
    }
    if (created > 0) this.options.onDispatched?.();
    return created;
  }

  private deliveriesOf(events: readonly LogEvent[], subs: readonly Webhook[]): NewDelivery[] {
    const index = new SubscriptionIndex(subs);
    const out: NewDelivery[] = [];
    const now = this.clock.now();
    for (const e of events) {
      const matched = index.match(e).filter((s) => e.at >= s.createdAt);
      if (matched.length === 0) continue;
      const envelope = envelopeOf(e, this.options.source);
      const body = JSON.stringify(envelope);
      for (const s of matched) out.push({ id: uuidv7(), subscriptionId: s.id, eventPos: e.pos, eventType: envelope.type, body, createdAt: now });
    }
    return out;
  }
}
