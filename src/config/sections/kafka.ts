import { Type } from '@sinclair/typebox';
import { MAX_PARTITIONS, MAX_REPLICATION_FACTOR } from '../../adapters/kafka/topic-layout.js';

const Replicas = Type.Integer({ minimum: 1, maximum: MAX_REPLICATION_FACTOR, description: 'replicas of each partition (3 in production)' });

/** Partitions and replicas of the Kafka topics Docket creates (docs/kafka.md#topics). */
export const KafkaFileSchema = Type.Object(
  {
    replicationFactor: Type.Optional(Replicas),
    topics: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^[A-Za-z0-9._-]{1,249}$' }),
        Type.Object({ partitions: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PARTITIONS })), replicationFactor: Type.Optional(Replicas) }, { additionalProperties: false }),
        { description: 'per topic, named without DOCKET_KAFKA_TOPIC_PREFIX' },
      ),
    ),
  },
  { additionalProperties: false },
);
