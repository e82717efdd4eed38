// Issue 21.3: the Kafka topics Docket creates get the partitions and replicas of the configuration
// (defaults of the reference design: job-events 20, worker-events 10, dependency-events 10), from the
// config file's `kafka` section and the environment; an existing topic with fewer partitions than
// configured is reported at start and left as it is. Own topic prefix per test on the real broker.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveConfig } from '../src/config/index.js';
import { parseConfigFile } from '../src/config/index.js';
import { openEngine } from '../src/app/engine.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

describe('Kafka topic layout: configuration', () => {
  it('reads partitions per topic and a replication factor from the environment, naming a bad entry', () => {
    const config = resolveConfig({ DOCKET_KAFKA_PARTITIONS: 'job-events=40, worker-events=12', DOCKET_KAFKA_REPLICATION_FACTOR: '3' });
    expect(config.kafkaTopicLayout).toEqual({ replicationFactor: 3, topics: { 'job-events': { partitions: 40 }, 'worker-events': { partitions: 12 } } });
    expect(() => resolveConfig({ DOCKET_KAFKA_PARTITIONS: 'job-events=0' })).toThrow(/DOCKET_KAFKA_PARTITIONS=job-events=0: "job-events=0" is not topic=partitions/);
    expect(() => resolveConfig({ DOCKET_KAFKA_PARTITIONS: 'job-events' })).toThrow(ConfigError);
    expect(() => resolveConfig({ DOCKET_KAFKA_REPLICATION_FACTOR: 'three' })).toThrow(/DOCKET_KAFKA_REPLICATION_FACTOR=three: must be a whole number from 1 to 32/);
  });

  it('reads the config file\'s kafka section, naming a bad entry by its path', () => {
    expect(parseConfigFile({ kafka: { replicationFactor: 3, topics: { 'job-events': { partitions: 30 } } } }).kafka).toEqual({ replicationFactor: 3, topics: { 'job-events': { partitions: 30 } } });
    expect(() => parseConfigFile({ kafka: { topics: { 'job-events': { partitions: 0 } } } }, 'docket.json')).toThrow(/docket\.json: \/kafka\/topics\/job-events\/partitions/);
    expect(() => parseConfigFile({ kafka: { topics: { 'job-events': { partition: 4 } } } }, 'docket.json')).toThrow(/\/kafka\/topics\/job-events/);
  });
});

describe('Kafka topic layout: on the broker', () => {
  const tag = randomUUID().slice(0, 8);
  const prefix = `docket-test.layout.${tag}.`;
  const dir = mkdtempSync(join(tmpdir(), 'docket-layout-'));

  beforeAll(async () => {
    await ensureKafka();
  }, KAFKA_START_TIMEOUT_MS);

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } finally {
      await admin.close();
    }
  });

  it('creates each topic as configured (defaults, file, environment); reports an existing topic with fewer partitions and leaves it', async () => {
    const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      // An operator created worker-events earlier, with 2 partitions.
      await admin.createTopics({ topics: [`${prefix}worker-events`], partitions: 2, replicas: 1 });
      const file = join(dir, 'docket.json');
      writeFileSync(file, JSON.stringify({ kafka: { topics: { 'dependency-events': { partitions: 4 }, 'alert-events': { partitions: 5 } } } }));
      const config = loadConfig({
        DOCKET_DATA_DIR: join(dir, 'data'),
        DOCKET_CONFIG: file,
        DOCKET_KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
        DOCKET_KAFKA_TOPIC_PREFIX: prefix,
        DOCKET_KAFKA_PARTITIONS: 'alert-events=2', // the environment wins over the file
      });
      const engine = await openEngine(config, () => {});
      try {
        const metadata = await admin.metadata({ topics: ['job-events', 'worker-events', 'dependency-events', 'alert-events'].map((t) => prefix + t), forceUpdate: true });
        const partitions = (t: string) => metadata.topics.get(prefix + t)?.partitions.length;
        expect(partitions('job-events')).toBe(20); // the reference design's default (was 3)
        expect(partitions('worker-events')).toBe(2); // left as it was: never re-keyed silently
        expect(partitions('dependency-events')).toBe(4);
        expect(partitions('alert-events')).toBe(2);
        expect(engine.warnings).toEqual([expect.stringMatching(new RegExp(`^Kafka topic ${prefix.replace(/\./g, '\\.')}worker-events has 2 partitions, the configuration asks for 10: `))]);
      } finally {
        await engine.close();
      }
    } finally {
      await admin.close();
    }
  }, 120_000);
});
