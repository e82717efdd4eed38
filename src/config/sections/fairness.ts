import { Type } from '@sinclair/typebox';
import { NAME_PATTERN } from '../../domain/job-input.js';

/**
 * The `fairness` and `routing` sections of the configuration file (docs/fairness.md). TypeBox
 * checks them with the rest of the file, so errors name the entry: `/fairness/reports/tenants/acme/weight`.
 */
const Share = Type.Object(
  {
    weight: Type.Optional(Type.Number({ minimum: 0.01, maximum: 1000, description: 'jobs per round relative to other tenants' })),
    maxRunning: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'most jobs of one tenant running at once in the queue' })),
  },
  { additionalProperties: false },
);

export const FairnessFileSchema = Type.Record(
  Type.String({ description: 'a queue name, or * for every queue without its own entry' }),
  Type.Object(
    { default: Type.Optional(Share), tenants: Type.Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), Share)) },
    { additionalProperties: false },
  ),
);

export const RoutingFileSchema = Type.Array(
  Type.Object(
    {
      types: Type.Array(Type.String({ minLength: 1, maxLength: 128, description: 'a job type, or a prefix ending in *' }), { minItems: 1 }),
      queue: Type.String({ pattern: NAME_PATTERN }),
    },
    { additionalProperties: false },
  ),
);
