import { Consumer, stringDeserializers, type Message, type MessagesStream } from '@platformatic/kafka';
import {
  decodeEnvelope,
  InvalidEventError,
  SubscriptionFailedError,
  type EventHandler,
  type SubscribeOptions,
  type Subscription,
} from '../../ports/event-bus.js';
import { KAFKA_RETRIES } from './kafka-retries.js';

type StringMessage = Message<string, string, string, string>;

export interface KafkaSubscriptionConfig {
  brokers: readonly string[];
  clientId: string;
  commitEvery: number;
  maxWaitMs: number;
  sessionTimeoutMs: number;
  requestTimeoutMs: number;
  onError?: ((err: unknown, context: string) => void) | undefined;
  topics: readonly string[];
  groupId: string;
  handler: EventHandler;
  subscribe: SubscribeOptions;
  /** Join as this member of the group: one an earlier subscription lost without leaving (see `onLost`). */
  rejoinAs?: string | undefined;
  /** The subscription stopped on a failure and could not leave its group: the member it leaves behind. */
  onLost?: ((memberId: string) => void) | undefined;
}

/**
 * One consumer-group member. Its records come through one stream and are handled one at a time, so
 * a partition's order (and so a key's) is kept. Offsets are committed only for handled records,
 * never for fetched ones: the library's autocommit commits what it fetched, which would lose the
 * records still buffered when the process dies, so it is off.
 */
export class KafkaSubscription implements Subscription {
  readonly done: Promise<void>;
  private readonly consumer: Consumer<string, string, string, string>;
  private stream: MessagesStream<string, string, string, string> | undefined;
  private starting: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private closing = false;
  /** Why delivery stopped, when it was not close(): the handler, the stream or the group. */
  private failure: unknown;
  /** The last handled message per partition, not yet committed. */
  private pending = new Map<string, StringMessage>();
  private handledSinceCommit = 0;
  private committing: Promise<void> = Promise.resolve();
  private settle!: { resolve: () => void; reject: (err: Error) => void };

  constructor(private readonly config: KafkaSubscriptionConfig) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {}); // a caller that never looks at `done` must not see an unhandled rejection
    this.consumer = new Consumer({
      clientId: config.clientId,
      groupId: config.groupId,
      bootstrapBrokers: [...config.brokers],
      timeout: config.requestTimeoutMs,
      ...KAFKA_RETRIES,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeoutMs / 10)),
      deserializers: stringDeserializers,
      autocommit: false,
      maxWaitTime: config.maxWaitMs,
      // Records fetched ahead of the handler; bounds memory and what a rebalance hands over twice.
      highWaterMark: 256,
    });
    // The consumer emits 'error' when it was thrown out of its group and could not rejoin; unheard,
    // that event would end the process. The member is gone: stop as if the handler had failed.
    this.consumer.on('error', (err: unknown) => this.fail(err));
    if (config.rejoinAs) this.consumer.memberId = config.rejoinAs;
  }

  /** Joins the group and fetches the committed positions; then delivery runs in the background. */
  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  /** Idempotent; safe while `start()` is still joining (it then closes once joined). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      await this.starting?.catch(() => {});
      // Ends the stream's iteration; a handler call in progress finishes first (run checks `closing`).
      await this.stream?.close().catch((err: unknown) => this.report(err, 'closing the stream'));
      await this.loop;
    })();
    return this.closed;
  }

  private async open(): Promise<void> {
    try {
      this.stream = await this.consumer.consume({
        topics: [...this.config.topics],
        mode: 'committed',
        fallbackMode: this.config.subscribe.start === 'latest' ? 'latest' : 'earliest',
        autocommit: false,
      });
      // consume() resolves once the member has joined, before the stream has read its starting
      // positions: a record published in between would be skipped by start 'latest'.
      await positioned(this.stream, this.config.requestTimeoutMs);
    } catch (err) {
      await this.stream?.close().catch(() => {});
      await this.leave().catch(() => {});
      this.settle.reject(new SubscriptionFailedError(this.config.groupId, this.config.topics, err));
      throw err;
    }
    this.loop = this.run(this.stream);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    void this.stream?.close().catch(() => {});
  }

  private async run(stream: MessagesStream<string, string, string, string>): Promise<void> {
    try {
      for await (const message of stream as AsyncIterable<StringMessage>) {
        if (this.closing || this.failure !== undefined) break;
        await this.handle(message);
        this.markHandled(message, stream.readableLength === 0);
      }
    } catch (err) {
      if (!this.closingQuietly(err)) this.failure ??= err;
    }
    // What was handled is committed before the member leaves, so the next owner starts after it.
    this.flush();
    await this.committing;
    await stream.close().catch(() => {});
    await this.leave().catch((err: unknown) => this.report(err, 'leaving the group'));
    if (this.failure === undefined) this.settle.resolve();
    else this.settle.reject(new SubscriptionFailedError(this.config.groupId, this.config.topics, this.failure));
  }

  /**
   * Closes the consumer, leaving the group. When the leave fails (the broker is down), the member
   * stays in the group until its session times out, and a new member's join waits for it: after a
   * broker restart, the ingest consumer's next subscription got no record for the 30 s of the
   * session timeout (test/kafka-broker-restart.test.ts). The member is handed on (`onLost`), and the
   * next subscription of the group rejoins as it, which the coordinator settles at once. The client
   * then closes without leaving: a failed leave leaves its connections open otherwise.
   */
  private async leave(): Promise<void> {
    const member = this.consumer.memberId;
    try {
      await this.consumer.close();
    } catch (err) {
      if (member) this.config.onLost?.(member);
      this.consumer.memberId = null;
      await this.consumer.close().catch(() => {});
      throw err;
    }
  }

  private async handle(message: StringMessage): Promise<void> {
    let event;
    try {
      const decode = this.config.subscribe.decode ?? ((value: string | null) => decodeEnvelope(value));
      event = decode(message.value ?? null, message.headers ?? new Map());
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      await this.config.subscribe.onInvalid?.({ ...this.coordinates(message), value: message.value ?? null, headers: Object.fromEntries(message.headers ?? []), error: err });
      return;
    }
    await this.config.handler({ ...this.coordinates(message), event });
  }

  private coordinates(message: StringMessage) {
    return { topic: message.topic, partition: message.partition, offset: message.offset.toString(), key: message.key ?? null };
  }

  private markHandled(message: StringMessage, caughtUp: boolean): void {
    this.pending.set(`${message.topic}\0${message.partition}`, message);
    this.handledSinceCommit++;
    if (caughtUp || this.handledSinceCommit >= this.config.commitEvery) this.flush();
  }

  /**
   * Commits the pending offsets in the background, one commit after another. A commit that fails
   * (the group is rebalancing, the coordinator moved) is reported and dropped: those records will
   * be delivered again, to this member or the partition's next owner.
   */
  private flush(): void {
    if (this.pending.size === 0) return;
    const messages = [...this.pending.values()];
    this.pending = new Map();
    this.handledSinceCommit = 0;
    // One request for all partitions. Leader epoch -1 ("unknown"), as the Java client sends when
    // it has none: the broker then skips the fencing check that the epoch would enable.
    const offsets = messages.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset + 1n, leaderEpoch: -1 }));
    this.committing = this.committing.then(() =>
      this.consumer.commit({ offsets }).catch((err: unknown) => {
        const what = offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`).join(', ');
        this.report(err, `committing ${what} failed; those events will be delivered again`);
      }),
    );
  }

  /** A stream torn down by our own close() is not a failure. */
  private closingQuietly(err: unknown): boolean {
    return this.closing && (err as { code?: string } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
  }

  private report(err: unknown, context: string): void {
    this.config.onError?.(err, `kafka subscription of group "${this.config.groupId}": ${context}`);
  }
}

/** Resolves when the stream has its starting offsets ('offsets'), fails on its 'error'. */
function positioned(stream: MessagesStream<string, string, string, string>, timeoutMs: number): Promise<void> {
  const events = stream as unknown as NodeJS.EventEmitter;
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: unknown) => {
      clearTimeout(timer);
      events.off('offsets', onOffsets);
      events.off('error', onError);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onOffsets = () => settle();
    const onError = (err: unknown) => settle(err);
    // Past the request timeout the stream's own retries and errors take over.
    const timer = setTimeout(onOffsets, timeoutMs);
    events.once('offsets', onOffsets);
    events.once('error', onError);
  });
}
