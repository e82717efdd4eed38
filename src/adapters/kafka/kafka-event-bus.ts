import { Admin, compatibilityPartitioner, Producer, ProduceAcks, stringSerializer } from '@platformatic/kafka';
import {
  encodeEnvelope,
  EventBusClosedError,
  validateOutgoing,
  type EventBus,
  type EventHandler,
  type EncodedEvent,
  type OutgoingEvent,
  type SubscribeOptions,
  type Subscription,
} from '../../ports/event-bus.js';
import { KAFKA_RETRIES } from './kafka-retries.js';
import { KafkaSubscription } from './kafka-subscription.js';
import type { PartitionShortfall, TopicLayout } from './topic-layout.js';

/** CloudEvents' Kafka binding, structured mode: the value is the whole envelope as JSON. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

/**
 * Every record's headers: one map of ready-made buffers, which the producer's default header
 * serializers pass through as they are (a plain object here cost two buffers and two maps per
 * record).
 */
const HEADERS = new Map([[Buffer.from('content-type'), Buffer.from(CLOUDEVENTS_CONTENT_TYPE)]]);

export interface KafkaEventBusOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: readonly string[];
  /** Client id the broker logs and quotas see. Default `docket`. */
  clientId?: string;
  /**
   * A subscription commits its handled offsets when this many are pending, and whenever it has
   * handled everything fetched so far. Default 100. Higher: fewer commit requests under load; a
   * crash redelivers up to this many events per subscription.
   */
  commitEvery?: number;
  /**
   * Longest a fetch waits for new records on the broker. Default 1000 ms. Lower: `close()` returns
   * sooner (it waits for the fetch in flight); higher: fewer empty fetches while idle.
   */
  maxWaitMs?: number;
  /**
   * A member that sends no heartbeat for this long is removed from its group and its partitions go
   * to the others. Default 30000 ms. Heartbeats run in the background, so a slow handler does not
   * count against it.
   */
  sessionTimeoutMs?: number;
  /** Per-request timeout. Default 30000 ms. */
  requestTimeoutMs?: number;
  /**
   * Problems that do not stop anything (a commit that failed: those events will come again).
   * Default: ignored. The engine passes its logger.
   */
  onError?: (err: unknown, context: string) => void;
}

export interface TopicSpec {
  /** Default 3: order is per key, and partitions are how a group spreads its load. */
  partitions?: number;
  /** Default 1 (a single development broker); 3 in production. */
  replicationFactor?: number;
}

/**
 * The event bus on Kafka, through @platformatic/kafka. The producer is idempotent with acks=all:
 * a send the client retries is written once, and `publish` resolves only when every in-sync
 * replica has the events. Keys go to partitions by murmur2 as the Java client does, so producers in
 * other languages that key the same entities land on the same partitions.
 *
 * Chosen over kafkajs 2.2.4 (unmaintained since 2023) by measurement on the 2-core machine
 * against Kafka 4.4 (docs/kafka.md): publishing, Docket's hot path, costs 15-19 us of CPU per
 * event in batches of 500 against 20-23 us, and 460-880 us one at a time against 760-960 us
 * (consuming costs more: 16-19 us against 9-12 us); its consumer heartbeats in the background while
 * a handler runs, where kafkajs heartbeats only between messages.
 */
export class KafkaEventBus implements EventBus {
  private producer: Producer<string, string, Buffer, Buffer>;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** Per group, a member a failed subscription could not take out of it: the next subscription rejoins as it. */
  private readonly lostMembers = new Map<string, string>();
  private readonly options: Required<Omit<KafkaEventBusOptions, 'onError'>> & Pick<KafkaEventBusOptions, 'onError'>;
  /** Publishes go out one call after another, so per-key order follows call order. */
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** While `prepare` has not set up its topics yet: why (the last attempt's error). */
  private unprepared: { error: unknown; timer: NodeJS.Timeout | null } | null = null;

  constructor(options: KafkaEventBusOptions) {
    if (options.brokers.length === 0) throw new TypeError('KafkaEventBus: brokers must not be empty');
    this.options = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'docket',
      commitEvery: options.commitEvery ?? 100,
      maxWaitMs: options.maxWaitMs ?? 1_000,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      onError: options.onError,
    };
    this.producer = this.newProducer();
  }

  private newProducer(): Producer<string, string, Buffer, Buffer> {
    return new Producer({
      clientId: this.options.clientId,
      bootstrapBrokers: [...this.options.brokers],
      timeout: this.options.requestTimeoutMs,
      ...KAFKA_RETRIES,
      serializers: { key: stringSerializer, value: stringSerializer },
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: compatibilityPartitioner,
    });
  }

  async publish(events: readonly OutgoingEvent[]): Promise<void> {
    if (this.closed) throw new EventBusClosedError();
    events.forEach((e, i) => validateOutgoing(e, i));
    await this.publishEncoded(events.map((e) => ({ topic: e.topic, key: e.key, value: encodeEnvelope(e.event) })));
  }

  async publishEncoded(events: readonly EncodedEvent[]): Promise<void> {
    if (this.closed) throw new EventBusClosedError();
    if (this.unprepared) throw new KafkaTopicsNotReadyError(this.unprepared.error);
    if (events.length === 0) return;
    const sent = this.sending.then(async () => {
      for (const chunk of chunksOf(events)) {
        try {
          await this.producer.send({ messages: chunk.map((e) => ({ topic: e.topic, key: e.key, value: e.value, headers: HEADERS })) });
        } catch (err) {
          // The broker no longer accepts this producer's sequence (a broker restart can leave it
          // out of order): no retry of it can succeed. A new producer gets a new id and starts its
          // sequences afresh; the caller's retry (the relay's next step) then goes through.
          if (producerStateLost(err)) this.renewProducer();
          throw err;
        }
      }
    });
    this.sending = sent.catch(() => {});
    await sent;
  }

  async subscribe(topics: readonly string[], groupId: string, handler: EventHandler, options: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw new EventBusClosedError();
    if (topics.length === 0) throw new TypeError('subscribe: topics must not be empty');
    const rejoinAs = this.lostMembers.get(groupId);
    this.lostMembers.delete(groupId);
    const onLost = (memberId: string) => void this.lostMembers.set(groupId, memberId);
    const sub = new KafkaSubscription({ ...this.options, topics: [...new Set(topics)], groupId, handler, subscribe: options, rejoinAs, onLost });
    this.subscriptions.add(sub);
    void sub.done.then(
      () => this.subscriptions.delete(sub),
      () => this.subscriptions.delete(sub),
    );
    try {
      await sub.start();
    } catch (err) {
      this.subscriptions.delete(sub);
      throw err;
    }
    if (this.closed) {
      // close() ran while the member was joining; it has closed this subscription too.
      await sub.close();
      throw new EventBusClosedError();
    }
    return sub;
  }

  /**
   * Sets up `topics` (ensureTopicLayout) before anything is published. When the broker cannot be
   * reached (an outage, as `isOutage` tells), the bus still opens: publishing rejects with
   * KafkaTopicsNotReadyError (nothing may reach a topic the broker would create with its own
   * defaults) and `ready()` says why, while the setup is tried again every `retryMs` until it works;
   * `onReady` then gets the shortfalls. Any other failure (a bad layout) rejects, as ensureTopicLayout.
   */
  async prepare(
    topics: readonly ({ name: string } & TopicLayout)[],
    opts: { isOutage: (err: unknown) => boolean; onReady: (shortfalls: PartitionShortfall[]) => void; retryMs?: number },
  ): Promise<void> {
    const attempt = async (): Promise<void> => {
      try {
        const shortfalls = await this.ensureTopicLayout(topics);
        this.unprepared = null;
        opts.onReady(shortfalls);
      } catch (err) {
        if (!opts.isOutage(err) || this.closed) throw err;
        const timer = setTimeout(() => void attempt().catch((e: unknown) => (this.unprepared = { error: e, timer: null })), opts.retryMs ?? 2_000);
        timer.unref();
        this.unprepared = { error: err, timer };
      }
    };
    await attempt();
  }

  /** Resolves once `prepare` has set up its topics (at once when it was not called); rejects saying why not. */
  async ready(): Promise<void> {
    if (this.unprepared) throw new KafkaTopicsNotReadyError(this.unprepared.error);
  }

  /**
   * Creates the topics that do not exist yet. Production clusters usually turn off automatic topic
   * creation, and an automatically created topic gets the broker's default partition count.
   */
  async ensureTopics(topics: readonly string[], spec: TopicSpec = {}): Promise<void> {
    await this.ensureTopicLayout(topics.map((name) => ({ name, partitions: spec.partitions ?? 3, replicationFactor: spec.replicationFactor ?? 1 })));
  }

  /**
   * Creates the missing topics with their layout; returns the existing ones that have fewer
   * partitions than asked, untouched: adding partitions moves keys (murmur2 of the key modulo the
   * count), so events of one key could be read out of order. That is the operator's call.
   */
  async ensureTopicLayout(topics: readonly ({ name: string } & TopicLayout)[]): Promise<PartitionShortfall[]> {
    const admin = new Admin({ clientId: this.options.clientId, bootstrapBrokers: [...this.options.brokers], timeout: this.options.requestTimeoutMs, ...KAFKA_RETRIES });
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      // One request per layout: createTopics takes one partition count for all its topics.
      const byLayout = new Map<string, string[]>();
      for (const t of missing) byLayout.set(`${t.partitions}/${t.replicationFactor}`, [...(byLayout.get(`${t.partitions}/${t.replicationFactor}`) ?? []), t.name]);
      for (const [layout, names] of byLayout) {
        const [partitions, replicas] = layout.split('/').map(Number) as [number, number];
        try {
          await admin.createTopics({ topics: names, partitions, replicas });
        } catch (err) {
          if (!onlyProtocolErrors(err, 'TOPIC_ALREADY_EXISTS')) throw err; // created meanwhile by another process
        }
      }
      if (missing.length > 0) await waitForLeaders(admin, missing.map((t) => t.name), this.options.requestTimeoutMs);
      const present = topics.filter((t) => existing.has(t.name));
      if (present.length === 0) return [];
      const metadata = await admin.metadata({ topics: present.map((t) => t.name), forceUpdate: true });
      return present.flatMap((t) => {
        const partitions = metadata.topics.get(t.name)?.partitions.length ?? 0;
        return partitions < t.partitions ? [{ topic: t.name, partitions, configured: t.partitions }] : [];
      });
    } finally {
      await admin.close();
    }
  }

  private renewProducer(): void {
    const old = this.producer;
    this.producer = this.newProducer();
    old.close().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.unprepared?.timer) clearTimeout(this.unprepared.timer);
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.sending;
    await this.producer.close();
  }
}

/** Publishing before `prepare` could set up the topics: the broker has not answered yet. */
export class KafkaTopicsNotReadyError extends Error {
  /** An outage to the outage log (engine-outage.ts), like the client's own network errors. */
  readonly code = 'DOCKET_KAFKA_NOT_READY';

  constructor(readonly reason: unknown) {
    super(`Kafka topics not set up yet: ${reason instanceof Error ? reason.message : String(reason)}`);
    this.name = 'KafkaTopicsNotReadyError';
  }
}

/**
 * A send's records, over all its partitions, stay under the broker's default `message.max.bytes`
 * (1 MiB per record batch, and a partition's batch is at most the whole send): the client does not
 * split a send, and a relay step of 2,000 larger events on one partition was refused whole
 * (MESSAGE_TOO_LARGE), again at every retry. A record alone is bounded by what Docket logs (error
 * and progress messages are cut at 10,000 characters).
 */
const MAX_SEND_BYTES = 900_000;
/** Per record beyond its key and value: length varints, attributes, offset and time deltas, the header. */
const RECORD_OVERHEAD = 80;

/** `events` in order, cut into consecutive sends of at most MAX_SEND_BYTES (at least one event each). */
export function* chunksOf(events: readonly EncodedEvent[], maxBytes = MAX_SEND_BYTES): Generator<EncodedEvent[]> {
  let chunk: EncodedEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = Buffer.byteLength(e.value) + Buffer.byteLength(e.key) + RECORD_OVERHEAD;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * Waits until every partition of `topics` has a leader. CreateTopics answers before that, and a
 * producer or consumer that meets a partition without a leader has to back off and retry (seen,
 * with the library's 1-s retry delay: 1.1 s for the first publish to two new topics, 0.1 s after
 * this wait).
 */
async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true }).catch(() => null);
    const ready = metadata !== null && topics.every((t) => metadata.topics.get(t)?.partitions.every((p) => p.leader >= 0));
    if (ready) return;
    if (performance.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `err` consists only of Kafka protocol errors with id `id` (they come nested). */
function onlyProtocolErrors(err: unknown, id: string): boolean {
  const e = err as { apiId?: string; errors?: unknown[] } | null;
  if (!e || typeof e !== 'object') return false;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every((x) => onlyProtocolErrors(x, id));
  return e.apiId === id;
}

/** Errors after which the broker refuses every further send of this producer id: only a new producer helps. */
const PRODUCER_STATE_LOST = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** Whether `err` (or any error it aggregates or wraps) says the producer's idempotence state is lost. */
export function producerStateLost(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 8) return false;
  const e = err as { apiId?: unknown; producerFenced?: unknown; aggregateErrors?: unknown; errors?: unknown; cause?: unknown };
  if ((typeof e.apiId === 'string' && PRODUCER_STATE_LOST.has(e.apiId)) || e.producerFenced === true) return true;
  const nested = [...(Array.isArray(e.aggregateErrors) ? e.aggregateErrors : []), ...(Array.isArray(e.errors) ? e.errors : []), e.cause];
  return nested.some((n) => producerStateLost(n, depth + 1));
}
