import { KafkaEventBus } from '../adapters/kafka/kafka-event-bus.js';
import { describeShortfall, layoutOf } from '../adapters/kafka/topic-layout.js';
import type { EventBus } from '../ports/event-bus.js';
import { IngestConsumer, type ConsumerOptions } from '../services/ingest/consumer.js';
import { IngestPipeline } from '../services/ingest/pipeline.js';
import type { Config, FileConfig } from '../config/index.js';
import type { Docket } from './docket.js';

/** Ingestion as the engine runs it: the pipeline (for POST /v1/events) and this process's consumer. */
export interface Ingest {
  pipeline: IngestPipeline;
  /** Null when this process does not consume (no input topics, or not a scheduler). */
  consumer: IngestConsumer | null;
  /** Leaves the consumer group; call before the engine stops. */
  stop(): Promise<void>;
}

export interface IngestParts {
  config: Config;
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
  const pipeline = new IngestPipeline(docket.jobs, docket.clock, rules.ingest, { maxPayloadBytes: config.maxPayloadBytes });
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
