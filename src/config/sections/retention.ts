import { Type, type Static } from '@sinclair/typebox';
import { DEFAULT_RETENTION, type RetentionConfig } from '../../domain/retention.js';
import { Seconds } from '../seconds.js';

/** The `retention` section of the configuration file (docs/recovery.md): how long finished jobs are kept, by state, per queue. */
const KeepSchema = Type.Object(
  { maxAgeSeconds: Type.Optional(Seconds('delete finished jobs older than this')), maxCount: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);
const RulesSchema = Type.Object(
  { succeeded: Type.Optional(KeepSchema), failed: Type.Optional(KeepSchema), cancelled: Type.Optional(KeepSchema), expired: Type.Optional(KeepSchema) },
  { additionalProperties: false },
);

export const RetentionFileSchema = Type.Object(
  { default: Type.Optional(RulesSchema), queues: Type.Optional(Type.Record(Type.String(), RulesSchema)) },
  { additionalProperties: false },
);

/** The section over DEFAULT_RETENTION (queues without an entry keep the default). */
export function retentionOf(section: Static<typeof RetentionFileSchema> | undefined): RetentionConfig {
  return { default: { ...DEFAULT_RETENTION.default, ...section?.default }, queues: section?.queues ?? {} };
}
