import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.js';
import { describeShortfall, layoutOf } from '../adapters/kafka/topic-layout.js';
import type { EventBus } from '../ports/event-bus.js';
import { IngestConsumer, type ConsumerOptions } from '../services/ingest/consumer.js';
import { IngestPipeline } from '../services/ingest/pipeline.js';
import { ConfigError, type DocketConfig } from './config.js';
import type { FileConfig } from './config-file.js';
import type { Docket } from './docket.js';

/** Ingestion as the engine runs it: the pipeline (for POST /v1/events) and this process's consumer. */
export interface Ingest {
  pipeline: IngestPipeline;
  /** Null when this process does not consume (no input topics, or not a scheduler). */
  consumer: IngestConsumer | null;
  /** Leaves the consumer group; call before the engine stops. */
  stop(): Promise<void>;
}

/**
 * Input topics need a bus; the rules alone (HTTP ingestion) do not. Checked before anything opens,
 * so the start-up error is about the configuration, not about a connection.
 */
export function checkIngestConfig(config: DocketConfig, rules: FileConfig, source: string): void {
  const topics = rules.ingest?.topics ?? [];
  if (topics.length > 0 && !config.kafkaBrokers) {
    throw new ConfigError(
      `${source}: /ingest/topics: consuming ${topics.join(', ')} needs Kafka: set DOCKET_KAFKA_BROKERS, or remove ingest.topics to take events over HTTP only (POST /v1/events)`,
    );
  }
}

export interface IngestParts {
  config: DocketConfig;
  rules: FileConfig;
  docket: Docket;
  bus: EventBus | null;
  /** The dead letters' `source`. */
  source: string;
  onError: (err: unknown) => void;
  onDeadLetter?: ConsumerOptions['onDeadLetter'];
  /** Told of start-up problems that stop nothing (the dead-letter topic has fewer partitions than configured). */
  onWarning?: (message: string) => void;
}

/**
 * The pipeline when the file has an `ingest` section; and when it names input topics and this
 * process has the scheduler role, a consumer that has joined the group (its dead-letter topic
 * created first: production clusters usually do not create topics on first use).
 */
export async function openIngest(parts: IngestParts): Promise<Ingest | null> {
  const { config, rules, docket, bus } = parts;
  if (!rules.ingest) return null;
  const pipeline = new IngestPipeline(docket.service, docket.clock, rules.ingest, { maxPayloadBytes: config.maxPayloadBytes });
  if (!bus || rules.ingest.topics.length === 0 || !config.roles.has('scheduler')) return { pipeline, consumer: null, stop: async () => {} };
  const deadLetterTopic = config.kafkaTopicPrefix + rules.ingest.deadLetterTopic;
  if (bus instanceof KafkaEventBus) {
    const layout = layoutOf(rules.ingest.deadLetterTopic, rules.kafka, config.kafkaTopicLayout);
    for (const shortfall of await bus.ensureTopicLayout([{ name: deadLetterTopic, ...layout }])) parts.onWarning?.(describeShortfall(shortfall));
  }
  const consumer = new IngestConsumer(bus, pipeline, docket.clock, {
    deadLetterTopic,
    source: parts.source,
    onError: parts.onError,
    ...(parts.onDeadLetter ? { onDeadLetter: parts.onDeadLetter } : {}),
  });
  await consumer.start();
  return { pipeline, consumer, stop: () => consumer.stop() };
}
