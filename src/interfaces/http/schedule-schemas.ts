import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JobInputSchema, NAME_PATTERN } from '../../domain/job-input.js';
import { PreviewInputSchema, ScheduleInputSchema, SchedulePatchSchema } from '../../domain/schedule.js';

/** Request and reply shapes of /v1/schedules (the inputs are declared with the domain's rules). */

const Iso = (description: string) => Type.String({ format: 'date-time', description });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ScheduleBody = ScheduleInputSchema;
export const SchedulePatchBody = SchedulePatchSchema;
export const PreviewBody = PreviewInputSchema;

export const ScheduleParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

const FireTime = Type.Object({
  at: Iso('the fire instant (UTC)'),
  local: Type.String({ description: "wall-clock time in the schedule's zone, with its offset, e.g. 2026-03-29T03:00:00+02:00" }),
});

export const ScheduleView = Type.Object(
  {
    id: Type.String({ description: 'UUIDv7' }),
    tenant: Type.String(),
    name: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    job: Type.Object(JobInputSchema.properties, { description: 'the job submitted at each fire' }),
    overlap: ScheduleInputSchema.properties.overlap,
    catchUp: ScheduleInputSchema.properties.catchUp,
    catchUpLimit: Type.Integer(),
    paused: Type.Boolean(),
    startAt: Nullable(Iso('no fire before this time')),
    endAt: Nullable(Iso('no fire after this time')),
    nextFireAt: Nullable(Iso('the next fire; null while paused or when no fire is left')),
    lastFireAt: Nullable(Iso('the latest fire that submitted a job')),
    lastJobId: Nullable(Type.String({ description: 'the job of that fire' })),
    createdAt: Iso('creation time'),
    updatedAt: Iso('last change by a user'),
    upcoming: Type.Optional(Type.Array(FireTime, { description: 'the next fire times (GET of one schedule)' })),
  },
  { description: 'a cron schedule; times are ISO 8601 (UTC)' },
);
export type ScheduleViewType = Static<typeof ScheduleView>;

export const ScheduleListQuery = Type.Object(
  {
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: "admins only: one tenant's schedules" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export const ScheduleListReply = Type.Object({
  schedules: Type.Array(ScheduleView, { description: 'oldest first' }),
  nextCursor: Nullable(Type.String({ description: 'pass as cursor for the next page; null on the last page' })),
});

export const PreviewReply = Type.Object({ timezone: Type.String(), fires: Type.Array(FireTime) });

export const FiresQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }, { additionalProperties: false });
export const FiresReply = Type.Object({
  fires: Type.Array(
    Type.Object({
      fireAt: Iso('the fire time'),
      outcome: Type.Union([Type.Literal('fired'), Type.Literal('skipped')], { description: "skipped: the previous fire's job had not finished (overlap skip)" }),
      jobId: Nullable(Type.String()),
      recordedAt: Iso('when it was handled'),
    }),
    { description: 'newest first' },
  ),
});
