/**
 * How many partitions and replicas each Kafka topic Docket creates gets: the defaults of the
 * reference design (seed 001: job-events 20 partitions keyed by job id, worker-events 10 keyed by
 * worker id, dependency-events 10 keyed by job id), overridden by the configuration file's `kafka`
 * section and then by the environment (docs/kafka.md).
 */
export interface TopicLayout {
  partitions: number;
  replicationFactor: number;
}

/** One source of settings: the file's `kafka` section, or the environment's. Names without the topic prefix. */
export interface TopicLayoutConfig {
  /** Replicas of every topic Docket creates (3 in production; 1 suits a single development broker). */
  replicationFactor?: number;
  topics?: Readonly<Record<string, Partial<TopicLayout>>>;
}

export const DEFAULT_PARTITIONS: Readonly<Record<string, number>> = {
  'job-events': 20, // the busiest: every job's lifecycle, keyed by job id
  'worker-events': 10,
  'dependency-events': 10,
  'alert-events': 3, // a few events an hour
  'ingest-dead-letters': 3, // keyed like the input records
};
/** Partitions of a topic not named above (a renamed dead-letter topic). */
export const FALLBACK_PARTITIONS = 3;
export const DEFAULT_REPLICATION_FACTOR = 1;

/** The layout of `topic` (unprefixed): defaults, then each source in order (later wins). */
export function layoutOf(topic: string, ...sources: readonly (TopicLayoutConfig | undefined)[]): TopicLayout {
  const layout: TopicLayout = { partitions: DEFAULT_PARTITIONS[topic] ?? FALLBACK_PARTITIONS, replicationFactor: DEFAULT_REPLICATION_FACTOR };
  for (const s of sources) {
    if (s?.replicationFactor !== undefined) layout.replicationFactor = s.replicationFactor;
    const own = s?.topics?.[topic];
    if (own?.partitions !== undefined) layout.partitions = own.partitions;
    if (own?.replicationFactor !== undefined) layout.replicationFactor = own.replicationFactor;
  }
  return layout;
}

/** An existing topic with fewer partitions than configured: reported, never changed (see KafkaEventBus.ensureTopicLayout). */
export interface PartitionShortfall {
  topic: string;
  partitions: number;
  configured: number;
}

export function describeShortfall(s: PartitionShortfall): string {
  return (
    `Kafka topic ${s.topic} has ${s.partitions} partitions, the configuration asks for ${s.configured}: ` +
    `Docket does not add partitions (that moves keys to other partitions, and events of one key could be read out of order); ` +
    `add them yourself when no consumer lags (kafka-topics.sh --alter --topic ${s.topic} --partitions ${s.configured}), or configure ${s.partitions}`
  );
}

/** `job-events=20,worker-events=10` (DOCKET_KAFKA_PARTITIONS) -> per topic; throws naming the bad entry. */
export function parsePartitions(text: string): Record<string, Partial<TopicLayout>> {
  const topics: Record<string, Partial<TopicLayout>> = {};
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9._-]{1,249})=(\d{1,5})$/.exec(entry);
    const n = m ? Number(m[2]) : 0;
    if (!m || n < 1 || n > MAX_PARTITIONS) throw new Error(`"${entry}" is not topic=partitions with partitions from 1 to ${MAX_PARTITIONS} (e.g. job-events=20,worker-events=10)`);
    topics[m[1]!] = { partitions: n };
  }
  return topics;
}

export const MAX_PARTITIONS = 10_000;
export const MAX_REPLICATION_FACTOR = 32;
