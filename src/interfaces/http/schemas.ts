import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BackoffSchema, NAME_PATTERN } from '../../domain/job-input.js';
import { JOB_STATES } from '../../domain/states.js';
import { SubmitInputSchema } from '../../domain/template.js';

/**
 * Every request and response shape of the HTTP API, declared once. Routes validate with them and
 * the OpenAPI document (a later layer) is generated from them, so the two cannot drift apart.
 */

const Iso = (description: string) => Type.String({ format: 'date-time', description });
const IsoOrNull = (description: string) => Type.Union([Iso(description), Type.Null()]);
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const NAME = NAME_PATTERN.slice(1, -1);

export const JobStateSchema = Type.Union(
  JOB_STATES.map((s) => Type.Literal(s)),
  { description: 'job state' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the kind of problem' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String({ description: 'the request path' }),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String({ description: 'JSON pointer of the field' }), message: Type.String() }))),
    state: Type.Optional(JobStateSchema),
  },
  { description: 'RFC 9457 problem details (application/problem+json)' },
);

// ---- jobs -------------------------------------------------------------------------------------

const JobErrorView = Type.Object({
  message: Type.String(),
  code: Type.Optional(Type.String()),
  attempt: Type.Integer(),
  at: Iso('when the attempt failed'),
});

const ProgressView = Type.Object({ percent: Type.Number({ minimum: 0, maximum: 100 }), message: Type.Optional(Type.String()) });

export const JobViewSchema = Type.Object(
  {
    id: Type.String({ description: 'UUIDv7' }),
    tenant: Type.String(),
    queue: Type.String(),
    type: Type.String(),
    payload: Type.Unknown(),
    priority: Type.Integer({ minimum: 1, maximum: 10 }),
    labels: Type.Record(Type.String(), Type.String()),
    state: JobStateSchema,
    stateReason: Nullable(Type.String()),
    runAt: Iso('due time: the job does not start before it'),
    expiresAt: IsoOrNull('the job expires if not started by then'),
    timeoutMs: Nullable(Type.Integer()),
    maxAttempts: Type.Integer(),
    attempt: Type.Integer({ description: 'attempts started so far' }),
    backoff: BackoffSchema,
    linkId: Type.String(),
    resubmittedFrom: Nullable(Type.String()),
    templateId: Nullable(Type.String({ description: 'the template the job was created from (docs/templates.md)' })),
    templateVersion: Nullable(Type.Integer({ description: 'the version of that template' })),
    callbackUrl: Type.Optional(
      Type.String({ description: 'where the job\'s end is posted (docs/webhooks.md#job-callbacks); absent when none (and from claim and transition replies on PostgreSQL)' }),
    ),
    traceContext: Type.Optional(
      Type.Object(
        { traceparent: Type.String(), tracestate: Type.Optional(Type.String()) },
        { description: 'the W3C trace context the job carries from its submit (docs/tracing.md): each attempt\'s span is its child; absent when the submit had none' },
      ),
    ),
    dependsOn: Type.Optional(Type.Array(Type.String(), { description: 'ids of the jobs this one waits for (docs/dependencies.md); absent when none' })),
    onDependencyFailure: Type.Optional(Type.Union([Type.Literal('cancel'), Type.Literal('continue')], { description: 'with dependsOn: what a failed dependency does to this job' })),
    dependents: Type.Optional(Type.Array(Type.String(), { description: 'single reads: ids of the jobs that wait for this one; absent when none' })),
    leaseExpiresAt: IsoOrNull('end of the current lease'),
    workerId: Nullable(Type.String()),
    progress: Nullable(ProgressView),
    condition: Nullable(Type.String({ description: 'the recovery condition a blocked job is parked under' })),
    blockedAt: IsoOrNull('when the job was parked under its condition'),
    result: Type.Optional(Type.Unknown({ description: 'absent until the job succeeds' })),
    errors: Type.Array(JobErrorView),
    createdAt: Iso('submission time'),
    updatedAt: Iso('last change'),
    startedAt: IsoOrNull('start of the latest attempt'),
    finishedAt: IsoOrNull('when the job reached a terminal state'),
    deduplicated: Type.Optional(
      Type.Boolean({ description: 'in submit replies only, and only when true: this is an existing job that holds the submitted job\'s dedup key, and nothing was created (docs/jobs.md#deduplication)' }),
    ),
  },
  { description: 'a job; times are ISO 8601 (UTC)' },
);
export type JobView = Static<typeof JobViewSchema>;

/** A job as a claim hands it out: with the lease token that proves the claim. */
export const ClaimedJobViewSchema = Type.Composite([JobViewSchema, Type.Object({ leaseToken: Type.String() })]);
export type ClaimedJobView = Static<typeof ClaimedJobViewSchema>;

/** A job, or a template reference plus what differs from the template (docs/templates.md). */
export const SubmitBody = SubmitInputSchema;

export const BulkSubmitBody = Type.Object(
  {
    jobs: Type.Array(SubmitInputSchema, {
      minItems: 1,
      maxItems: 1000,
      description: '1 to 1000 jobs, stored all or none: one bad job rejects the request and names every bad field (/jobs/3/priority)',
    }),
  },
  { additionalProperties: false },
);
export const JobsReply = Type.Object({ jobs: Type.Array(JobViewSchema) });

/** The W3C trace context headers a submit may carry (docs/tracing.md); an invalid traceparent is ignored, as the W3C spec asks. */
export const TraceHeaders = {
  traceparent: Type.Optional(Type.String({ description: 'W3C trace context of the caller: the job\'s spans join its trace (docs/tracing.md)' })),
  tracestate: Type.Optional(Type.String({ description: 'W3C vendor trace state, kept with traceparent' })),
};

export const SubmitHeaders = Type.Object({
  ...TraceHeaders,
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description: 'a retry with the same key and body returns the first response (for 24 h); the same key with another body is 422',
    }),
  ),
});

export const ListQuery = Type.Object(
  {
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'admins only: one tenant\'s jobs' })),
    label: Type.Optional(
      Type.Union([Type.String({ maxLength: 400 }), Type.Array(Type.String({ maxLength: 400 }), { maxItems: 16 })], {
        description: 'name=value; repeat for jobs carrying every one of these labels',
      }),
    ),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    state: Type.Optional(JobStateSchema),
    type: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    linkId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    templateId: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'only jobs created from this template' })),
    payload: Type.Optional(
      Type.String({ minLength: 3, maxLength: 400, description: 'path=value: jobs whose payload field (dotted path, e.g. customer.id) reads as value; scans the jobs the other filters select (docs/api.md#jobs)' }),
    ),
    createdAfter: Type.Optional(Iso('only jobs created at or after this time')),
    createdBefore: Type.Optional(Iso('only jobs created before this time')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ListQueryType = Static<typeof ListQuery>;
export const ListReply = Type.Object({
  jobs: Type.Array(JobViewSchema, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last page' }),
});

export const ProgressReply = Type.Object({ state: JobStateSchema, progress: Nullable(ProgressView) });

// ---- queues ----------------------------------------------------------------------------------

export const QueueParams = Type.Object({ queue: Type.String({ pattern: NAME_PATTERN }) }, { additionalProperties: false });
export const QueueView = Type.Object({
  name: Type.String(),
  paused: Type.Boolean({ description: 'a paused queue hands out no job; submits are still accepted' }),
  counts: Type.Record(JobStateSchema, Type.Integer(), { description: 'jobs per state (the caller\'s tenant only, unless admin)' }),
});
export const QueuesReply = Type.Object({ queues: Type.Array(QueueView) });

export const QueueStatsQuery = Type.Object(
  { minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, description: 'the window, in one-minute slots ending with the current minute (default 60)' })) },
  { additionalProperties: false },
);
const FinishedCounts = Type.Object({
  succeeded: Type.Integer(),
  failed: Type.Integer({ description: 'ended failed: dead letters' }),
  cancelled: Type.Integer(),
  expired: Type.Integer(),
});
export const QueueStatsView = Type.Composite([
  QueueView,
  Type.Object({
    finished: FinishedCounts,
    failureRate: Nullable(Type.Number({ minimum: 0, maximum: 1, description: 'failed / (succeeded + failed) over the window; null when none ended either way' })),
    oldestReadyAt: IsoOrNull('due time of the ready job waiting longest; null when none is ready'),
    oldestReadyAgeMs: Nullable(Type.Integer({ description: 'how long that job has been due, in ms' })),
    series: Type.Array(Type.Composite([Type.Object({ at: Iso('start of the slot') }), FinishedCounts]), { description: 'jobs finished per one-minute slot, oldest first, one entry per slot' }),
  }),
]);
export const QueueStatsReply = Type.Object({
  since: Iso('start of the first slot'),
  until: Iso('the time of the reply'),
  bucketSeconds: Type.Integer({ description: 'length of a slot' }),
  queues: Type.Array(QueueStatsView),
});

// ---- dead letters and recovery conditions ------------------------------------------------------

export const DeadLetterQuery = Type.Object(
  {
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    type: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'admins only' })),
    error: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'text any error message of the job contains (case-insensitive)' })),
    failedAfter: Type.Optional(Iso('failed at or after this time')),
    failedBefore: Type.Optional(Iso('failed before this time')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type DeadLetterQueryType = Static<typeof DeadLetterQuery>;

const DeadLetterFilter = Type.Object(
  {
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    type: Type.Optional(Type.String({ pattern: NAME_PATTERN })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'admins only' })),
    error: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    failedAfter: Type.Optional(Iso('failed at or after this time')),
    failedBefore: Type.Optional(Iso('failed before this time')),
  },
  { additionalProperties: false },
);
export const DeadLetterSelection = Type.Object(
  {
    ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 10_000 })),
    filter: Type.Optional(DeadLetterFilter),
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000, description: 'most dead letters acted on by a filter' })),
  },
  { additionalProperties: false, description: 'give ids, or a filter ({} selects every dead letter the caller may see)' },
);
export type DeadLetterSelectionType = Static<typeof DeadLetterSelection>;
export const RequeueReply = Type.Object({ requeued: Type.Integer(), ids: Type.Array(Type.String()) });
export const PurgeReply = Type.Object({ purged: Type.Integer() });

export const ConditionParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
export const ConditionView = Type.Object({
  key: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('probing'), Type.Literal('releasing')]),
  firstSeenAt: Iso('first failure'),
  lastSeenAt: Iso('latest failure'),
  lastError: Type.String(),
  failures: Type.Integer(),
  probeJobId: Nullable(Type.String()),
  nextProbeAt: Iso('when the next probe is due (status open)'),
  probeFailures: Type.Integer({ description: 'failed probes in a row' }),
  releasingSince: IsoOrNull('when releasing started'),
  released: Type.Integer({ description: 'jobs released since' }),
  parked: Type.Array(Type.Object({ queue: Type.String(), tenant: Type.String(), count: Type.Integer() })),
  parkedTotal: Type.Integer(),
  releaseRate: Type.Number({ description: 'jobs per second released now, on the policy\'s ramp (0 unless releasing)' }),
  releaseEtaSeconds: Nullable(Type.Integer({ description: 'estimated seconds until every parked job (of any tenant) is released at the ramp; null unless releasing' })),
});
export const ConditionsReply = Type.Object({ conditions: Type.Array(ConditionView) });
export const ConditionActionReply = Type.Object({ key: Type.String(), released: Type.Optional(Type.Integer()), failed: Type.Optional(Type.Integer()), status: Type.String() });

// ---- the worker protocol ---------------------------------------------------------------------

const LeaseToken = Type.String({ minLength: 1, maxLength: 128 });

export const RegisterBody = Type.Object(
  {
    queues: Type.Array(Type.String({ pattern: NAME_PATTERN }), { minItems: 1, maxItems: 100 }),
    capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    labels: Type.Optional(Type.Record(Type.String({ pattern: NAME_PATTERN }), Type.String({ maxLength: 256 }), { maxProperties: 32, additionalProperties: false })),
  },
  { additionalProperties: false },
);
export const RegisterReply = Type.Object({
  id: Type.String(),
  leaseMs: Type.Integer({ description: 'how long a claim holds a job without a heartbeat' }),
  heartbeatTimeoutMs: Type.Integer({ description: 'a worker silent this long is marked lost and its jobs go back to the queue' }),
  heartbeatIntervalMs: Type.Integer({ description: 'the recommended heartbeat interval (a third of the shorter of the two)' }),
});

export const WorkerView = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  queues: Type.Array(Type.String()),
  capacity: Type.Integer(),
  labels: Type.Record(Type.String(), Type.String()),
  tenant: Nullable(Type.String({ description: 'whose jobs it runs (its token\'s tenant); null: every tenant (a cluster-worker token)' })),
  status: Type.Union([Type.Literal('active'), Type.Literal('lost')], { description: 'lost: silent past the heartbeat timeout; its jobs went back to the queue' }),
  registeredAt: Iso('registration time'),
  lastHeartbeatAt: Iso('last sign of life'),
});
export const WorkersQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('lost')])),
    queue: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'only workers serving this queue' })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: "admins: only this tenant's workers" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export const WorkersReply = Type.Object({
  workers: Type.Array(WorkerView, { description: 'in id order' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null on the last page' }),
});

export const HeartbeatBody = Type.Object(
  {
    jobs: Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), leaseToken: LeaseToken }, { additionalProperties: false }), {
      maxItems: 100_000,
      description: 'the jobs the worker holds; their leases are extended',
    }),
  },
  { additionalProperties: false },
);
export const HeartbeatReply = Type.Object({
  lost: Type.Array(Type.String(), { description: 'jobs no longer held (cancelled, or given to another worker after the lease ran out): stop them' }),
  cancelled: Type.Array(Type.String(), { description: 'those of `lost` that were cancelled' }),
});

export const ClaimParams = Type.Object(
  {
    queue: Type.String({ pattern: `^${NAME}(,${NAME})*$`, maxLength: 4096, description: 'a queue name, or several separated by commas' }),
  },
  { additionalProperties: false },
);
const Priority = Type.Integer({ minimum: 1, maximum: 10 });
export const ClaimBody = Type.Object(
  {
    workerId: Type.String({ minLength: 1, maxLength: 128 }),
    max: Type.Integer({ minimum: 1, maximum: 1000, description: 'most jobs to take' }),
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'long-poll: wait this long when nothing is ready' })),
    priorityMin: Type.Optional(Priority),
    priorityMax: Type.Optional(Priority),
    types: Type.Optional(Type.Array(Type.String({ pattern: NAME_PATTERN }), { minItems: 1, maxItems: 100, description: 'only jobs of these types (insights)' })),
    labels: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ maxLength: 256 }), { description: 'only jobs carrying all these labels' }),
    ),
  },
  { additionalProperties: false },
);
/** The same claim with its queues in the body: any number of them (the path form ends at ~4 KB). */
export const ClaimsBody = Type.Object(
  {
    ...ClaimBody.properties,
    queues: Type.Array(Type.String({ pattern: NAME_PATTERN }), { minItems: 1, maxItems: 10_000, description: 'the queues to take from; they take turns' }),
  },
  { additionalProperties: false },
);
export const ClaimReply = Type.Object({ jobs: Type.Array(ClaimedJobViewSchema) });

export const CompleteBody = Type.Object({ leaseToken: LeaseToken, result: Type.Optional(Type.Unknown()) }, { additionalProperties: false });
export const FailBody = Type.Object(
  {
    leaseToken: LeaseToken,
    error: Type.Object(
      {
        message: Type.String({ maxLength: 1_000_000, description: 'kept up to 10,000 characters (longer ones are cut, not refused)' }),
        code: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: "the error's class, for the server's classification rules" })),
      },
      { additionalProperties: false },
    ),
    retryable: Type.Optional(Type.Boolean({ default: true, description: 'false: permanent error, no further attempt' })),
    condition: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'transient: a shared condition is to blame (e.g. service:payments-api); the job parks under it until the condition clears' }),
    ),
  },
  { additionalProperties: false },
);
export const ProgressBody = Type.Object(
  {
    leaseToken: LeaseToken,
    percent: Type.Number({ minimum: 0, maximum: 100 }),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
    outputs: Type.Optional(
      Type.Array(Type.Unknown(), { maxItems: 50, description: 'a multi-step job\'s finished steps\' outputs, kept as its result so a retry resumes after them (docs/jobs.md#multi-step-jobs)' }),
    ),
  },
  { additionalProperties: false },
);
export const ReleaseBody = Type.Object({ leaseToken: LeaseToken }, { additionalProperties: false });

export const NoContent = Type.Null({ description: 'no body' });

export const HealthReply = Type.Object({ status: Type.Literal('ok') });
export const ReadyReply = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(Type.String(), Type.String(), { description: 'per engine: "ok" or why not' }),
  leader: Type.Boolean({ description: 'whether this process runs the cluster-wide duties (promoting, expiring, reaping) now' }),
});
/** 503 from /readyz: a problem (numeric `status`) that also carries the per-engine checks. */
export const NotReadyReply = Type.Composite([
  ProblemSchema,
  Type.Object({ checks: Type.Record(Type.String(), Type.String(), { description: 'per engine: "ok" or why not' }) }),
]);

/** Error replies every route may give; listed so the OpenAPI document shows them. */
export const PROBLEMS = { '4xx': ProblemSchema, '5xx': ProblemSchema } as const;

// ---- dependencies ------------------------------------------------------------------------------

/** GET /v1/jobs/:id/dependencies: what a dependent's handler reads (docs/dependencies.md). */
export const DependenciesReply = Type.Object({
  jobId: Type.String(),
  onDependencyFailure: Nullable(Type.Union([Type.Literal('cancel'), Type.Literal('continue')], { description: 'null when the job has no dependencies' })),
  dependencies: Type.Array(
    Type.Object({
      id: Type.String(),
      type: Nullable(Type.String({ description: 'null when the dependency was deleted since (retention)' })),
      state: Nullable(JobStateSchema),
      result: Type.Optional(Type.Unknown({ description: 'the dependency\'s result, once it succeeded' })),
      error: Nullable(JobErrorView),
      finishedAt: IsoOrNull('when the dependency finished'),
    }),
    { description: 'the jobs this one waits for, in id order' },
  ),
  dependents: Type.Array(Type.Object({ id: Type.String(), state: JobStateSchema }), { description: 'the jobs that wait for this one' }),
});
