import { Type, type Static } from '@sinclair/typebox';
import { LOG_LEVEL_NAMES, MAX_MESSAGE_CHARS, type LogLine } from '../../domain/job-log.js';

/** Request and response shapes of /v1/jobs/:id/logs (docs/logs.md). */

const Level = Type.Union(
  LOG_LEVEL_NAMES.map((l) => Type.Literal(l)),
  { description: 'trace, debug, info, warn, error or fatal (pino\'s levels)' },
);
const Fields = Type.Record(Type.String(), Type.Unknown(), { description: 'the structured fields of the call' });
const Cursor = (description: string) => Type.String({ pattern: '^[0-9]{1,16}$', description });

export const MAX_LINES_PER_BATCH = 1000;

/** POST /v1/jobs/:id/logs: a worker's batch of one attempt's lines, under its lease. */
export const LogBatchBody = Type.Object(
  {
    leaseToken: Type.String({ minLength: 1, maxLength: 128 }),
    lines: Type.Array(
      Type.Object(
        {
          at: Type.String({ format: 'date-time', description: 'when the handler wrote it' }),
          level: Level,
          message: Type.String({ maxLength: 8 * MAX_MESSAGE_CHARS, description: `kept up to ${MAX_MESSAGE_CHARS} characters` }),
          fields: Type.Optional(Fields),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_LINES_PER_BATCH },
    ),
  },
  { additionalProperties: false },
);

export const LogBatchReply = Type.Object({ kept: Type.Integer({ description: 'lines received (the job\'s cap may drop its oldest)' }) });

export const LogQuery = Type.Object(
  {
    cursor: Type.Optional(Cursor('lines after this one: nextCursor of the previous page, or a line id')),
    attempt: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'only this attempt\'s lines' })),
    level: Type.Optional(Level),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
  },
  { additionalProperties: false },
);

export const LogStreamQuery = Type.Object(
  {
    cursor: Type.Optional(Cursor('resume after this line id (as the Last-Event-ID header)')),
    attempt: LogQuery.properties.attempt,
    level: LogQuery.properties.level,
  },
  { additionalProperties: false },
);

export const LogLineView = Type.Object({
  id: Type.Integer({ description: 'the line\'s place in the job\'s log; 0 for the marker of dropped lines' }),
  attempt: Type.Integer({ description: '0 for the marker of dropped lines' }),
  at: Type.String({ format: 'date-time' }),
  level: Level,
  message: Type.String(),
  fields: Type.Optional(Fields),
});

export const LogPageReply = Type.Object({
  lines: Type.Array(LogLineView),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null: no more lines now (a running job may write more)' }),
  dropped: Type.Integer({ description: 'the job\'s oldest lines dropped to keep it under its cap' }),
});

export type LogQueryType = Static<typeof LogStreamQuery>;

export function logLineView(l: LogLine): Static<typeof LogLineView> {
  return { id: l.id, attempt: l.attempt, at: new Date(l.at).toISOString(), level: l.level, message: l.message, ...(l.fields ? { fields: l.fields } : {}) };
}
