import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { dispatchEntryOf, type DispatchEntry, type Job } from '../../domain/job.js';
import type { RunningCount } from '../../ports/dispatch.js';
import type { TransitionResult } from '../../domain/outcomes.js';
import { isTerminal, type JobState } from '../../domain/states.js';
import { COMPLETABLE } from '../sql/state-lists.js';
import type {
  JobClaim,
  Completion,
  CompletionResult,
  ClaimResult,
  ConditionRecord,
  JobFilter,
  JobPage,
  LeaseExtension,
  IdempotencyRecord,
  DedupInsert,
  DedupKey,
  NewJob,
  ParkedCount,
  QueueDepth,
  QueueActivityRows,
  Store,
  StoreCompanions,
  TransitionRequest,
} from '../../ports/store.js';
import { SqliteScheduleStore } from './sqlite-schedule-store.js';
import { SqliteTemplateStore } from './sqlite-template-store.js';
import { SqliteWebhookStore } from './sqlite-webhook-store.js';
import { SqliteAlertStore } from './sqlite-alert-store.js';
import { SqliteJobLogStore } from './sqlite-job-log-store.js';
import { migrate } from './migrate.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteDependencies } from './sqlite-dependencies.js';
import * as Q from './queries.js';
import * as DQ from './dedup-queries.js';
import { keyHolds, redirectDependencies } from '../../domain/dedup.js';
import { depthsOf } from '../../domain/queue-depths.js';
import { statementCache } from './statements.js';
import { PATCH_COLUMNS, SQLITE_FILTERS, insertJobRow } from './rows.js';
import { toJob, type JobRow } from '../sql/job-rows.js';
import { CLAIMED_WIRE, claimedOf } from './claim-wire.js';
import { jsonObjectText } from './json-object.js';
import { logBatch, materializeRanges, sharedOf, type BatchKind, type LoggedRow } from './event-batches.js';
import { countByQueueQuery, countByStateQuery, listJobsQuery, stateCounts } from '../sql/job-filters.js';

export interface SqliteStoreOptions {
  /** Database file, or ':memory:'. */
  path: string;
  /**
   * `normal` (default): in WAL mode a process crash loses nothing; a power loss may roll back the
   * last transactions. `full`: fsync on every commit, about 3x slower writes.
   */
  synchronous?: 'normal' | 'full';
}

/**
 * The embedded store: one SQLite file in WAL mode through better-sqlite3. Its calls are
 * synchronous; the async signatures are the port's. Measured on the 2-core machine: ~250k
 * inserts/s and ~100k claim+complete pairs/s in batches of 200 (see docs/benchmarks.md).
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly events: SqliteEventLog;
  readonly dependencies: SqliteDependencies;
  private companionStores: StoreCompanions | undefined;
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.stmt = statementCache(this.db);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    this.events = new SqliteEventLog(this.db);
    this.dependencies = new SqliteDependencies(this.db);
    // The errorText filter: SQLite's own LIKE and lower() fold ASCII letters only; this folds any
    // letter, as PostgreSQL's lower() does. `needle` comes lower-cased. Used in queries only (no
    // index or view depends on it), so the file stays readable by any SQLite.
    this.db.function('docket_icontains', { deterministic: true }, (text: unknown, needle: unknown) =>
      typeof text === 'string' && typeof needle === 'string' && text.toLowerCase().includes(needle) ? 1 : 0,
    );
  }

  /** Made on first use, then the same ones for every caller. */
  companions(): StoreCompanions {
    return (this.companionStores ??= { schedules: new SqliteScheduleStore(this), templates: new SqliteTemplateStore(this), webhooks: new SqliteWebhookStore(this.db), alerts: new SqliteAlertStore(this.db), logs: new SqliteJobLogStore(this.db) });
  }

  async migrate(): Promise<void> {
    migrate(this.db);
  }

  async insertJobs(jobs: readonly NewJob[], idempotency?: IdempotencyRecord): Promise<IdempotencyRecord | null> {
    return this.db.transaction(() => {
      if (idempotency) {
        // The key is taken first: if it already was, nothing of this request is written.
        if (this.stmt(Q.INSERT_IDEMPOTENCY).run(idempotency).changes === 0) {
          return this.stmt(Q.GET_IDEMPOTENCY).get(idempotency.tenant, idempotency.key) as IdempotencyRecord;
        }
      }
      this.writeJobs(jobs);
      return null;
    })();
  }

  /**
   * The rows of `jobs` and their events, inside the caller's transaction (insertJobs,
   * insertJobsDeduplicated, the schedule store's fire).
   */
  writeJobs(jobs: readonly NewJob[]): void {
    const hot = this.stmt(Q.INSERT_HOT);
    const spec = this.stmt(Q.INSERT_SPEC);
    for (const j of jobs) insertJobRow(hot, spec, j);
    logSubmitted(this.stmt, jobs);
    // Dependents resolve at once; the service reads back the ones released (all dependencies done).
    this.dependencies.linkNew(jobs);
  }

  /**
   * One IMMEDIATE transaction (the write lock from the start: the key is read, then written, and
   * no other connection may write in between). Within a process calls are serial anyway.
   */
  async insertJobsDeduplicated(
    jobs: readonly NewJob[],
    keys: readonly (DedupKey | null)[],
    idempotency?: IdempotencyRecord,
    render?: (existing: readonly (Job | null)[]) => { status: number; response: string },
  ): Promise<DedupInsert> {
    return this.db.transaction((): DedupInsert => {
      if (idempotency && this.stmt(Q.INSERT_IDEMPOTENCY).run(idempotency).changes === 0) {
        return { earlier: this.stmt(Q.GET_IDEMPOTENCY).get(idempotency.tenant, idempotency.key) as IdempotencyRecord, existing: [] };
      }
      const existing = jobs.map((j, i) => (keys[i] ? this.takeDedupKey(j, keys[i]!) : null));
      const moved = new Map(jobs.flatMap((j, i) => (existing[i] ? [[j.id, existing[i]!.id] as const] : [])));
      this.writeJobs(redirectDependencies(jobs.filter((_, i) => existing[i] === null), moved));
      if (idempotency && render) {
        const { status, response } = render(existing);
        this.stmt(DQ.SET_IDEMPOTENCY_RESPONSE).run(status, response, idempotency.tenant, idempotency.key);
      }
      return { earlier: null, existing };
    }).immediate();
  }

  /**
   * The job that holds `k` (this one is then not inserted), or null once `job` has taken it. Runs
   * inside the caller's IMMEDIATE transaction (this store's, or the schedule store's fire).
   */
  takeDedupKey(job: NewJob, k: DedupKey): Job | null {
    type Held = { jobId: string; expiresAt: number; state: string | null };
    const held = this.stmt(DQ.READ_DEDUP_KEY).get(job.tenant, k.key) as Held | undefined;
    if (held && keyHolds(held.expiresAt, held.state, job.createdAt)) {
      const row = this.stmt(Q.GET_JOB).get(held.jobId) as JobRow | undefined;
      if (row) return toJob(row);
    }
    this.stmt(DQ.TAKE_DEDUP_KEY).run({ tenant: job.tenant, key: k.key, jobId: job.id, expiresAt: k.expiresAt });
    return null;
  }

  async pruneDedupKeys(now: number): Promise<number> {
    return this.stmt(DQ.PRUNE_DEDUP_KEYS).run(now).changes;
  }

  async getJob(id: string): Promise<Job | undefined> {
    const row = this.stmt(Q.GET_JOB).get(id) as JobRow | undefined;
    return row && toJob(row);
  }

  async listJobs(filter: JobFilter, limit: number, after?: string): Promise<JobPage> {
    const { sql, params } = listJobsQuery(SQLITE_FILTERS, '*', filter, limit, after);
    const rows = this.stmt(sql).all(params) as JobRow[];
    const more = rows.length > limit;
    const jobs = rows.slice(0, limit).map(toJob);
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  async transition(requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
    let released: DispatchEntry[] = [];
    const results = this.db.transaction(() => {
      const results = requests.map((r) => this.transitionOne(r));
      const settled = results.flatMap((r) => (r.ok && isTerminal(r.job.state) ? [r.job.id] : []));
      released = this.dependencies.settleAfter(settled, Math.max(...requests.map((r) => r.now)));
      return results;
    })();
    await this.dependencies.published(released);
    return results;
  }

  async completeJobs(completions: readonly Completion[], now: number): Promise<CompletionResult[]> {
    let released: DispatchEntry[] = [];
    const results = this.db.transaction(() => {
      // One statement for the batch; a job completed twice in it (a stale lease and the new one)
      // gets its later completions tried one by one after it, as if they came next.
      const batch = new Map<string, Completion>();
      const again: Completion[] = [];
      for (const c of completions) (batch.has(c.id) ? again.push(c) : batch.set(c.id, c));
      const done = this.completeBatch([...batch.values()], now);
      for (const c of again) if (!done.has(c) && this.completeBatch([c], now).size === 1) done.add(c);
      released = this.dependencies.settleAfter(completions.flatMap((c) => (done.has(c) ? [c.id] : [])), now);
      return completions.map((c): CompletionResult => (done.has(c) ? { ok: true } : this.whyNot(c.id, COMPLETABLE)));
    })();
    await this.dependencies.published(released);
    return results;
  }

  /** running -> succeeded for completions of distinct jobs, logged; the ones that applied. */
  private completeBatch(completions: readonly Completion[], now: number): Set<Completion> {
    // Job id -> [lease token] or [lease token, result]; the ids are distinct here.
    const done = jsonObjectText(completions, (c) => c.id, (c) => `[${JSON.stringify(c.leaseToken)}${c.result === undefined ? '' : `,${JSON.stringify(c.result)}`}]`);
    const rows = this.stmt(Q.COMPLETE_JOBS).all({ done, now }) as LoggedRow[];
    logBatch(this.stmt, SUCCEEDED, rows, now, rows[0]?.attempt ?? 1, rows[0]?.worker_id ?? null);
    const ok = new Set(rows.map((r) => r.id));
    return new Set(completions.filter((c) => ok.has(c.id)));
  }

  async claimJobs(claims: readonly JobClaim[], workerId: string, leaseExpiresAt: number, now: number): Promise<ClaimResult> {
    let released: DispatchEntry[] = [];
    const outcome = this.db.transaction(() => {
      // Job id -> lease token, the first claim of an id winning (as one UPDATE applies it).
      const leases = new Map<string, string>();
      for (const c of claims) if (!leases.has(c.id)) leases.set(c.id, c.leaseToken);
      const params = { leases: jsonObjectText(leases, ([id]) => id, ([, token]) => JSON.stringify(token)), leaseExpiresAt, workerId, now };
      const changed = this.stmt(Q.CLAIM_JOBS).run(params).changes;
      const { jobs, logged } = changed === 0 ? { jobs: new Map<string, Job>(), logged: [] } : claimedOf(this.stmt(CLAIMED_WIRE).pluck().get(params) as string, leases, { leaseExpiresAt, workerId, now });
      logBatch(this.stmt, STARTED, logged, now, 1, workerId, sharedOf(jobs.values()));
      const claimed: Job[] = [];
      const expired: Job[] = [];
      for (const c of claims) {
        const job = jobs.get(c.id);
        if (job) {
          jobs.delete(c.id);
          claimed.push(job);
          continue;
        }
        if (this.stmt(Q.EXPIRE_READY_JOB).get({ id: c.id, now })) expired.push(toJob(this.stmt(Q.GET_JOB).get(c.id) as JobRow));
      }
      released = this.dependencies.settleAfter(expired.map((j) => j.id), now);
      return { claimed, expired };
    })();
    await this.dependencies.published(released);
    return outcome;
  }

  async extendLeases(leases: readonly LeaseExtension[], leaseExpiresAt: number, now: number): Promise<string[]> {
    const extend = this.stmt(Q.EXTEND_LEASE);
    return this.db.transaction(() =>
      leases.filter((l) => extend.run({ id: l.id, leaseToken: l.leaseToken, leaseExpiresAt, now }).changes === 0).map((l) => l.id),
    )();
  }

  async findExpiredLeases(now: number, limit: number): Promise<Job[]> {
    return (this.stmt(Q.FIND_EXPIRED_LEASES).all(now, limit) as JobRow[]).map(toJob);
  }

  async findExpired(now: number, limit: number): Promise<Job[]> {
    return (this.stmt(Q.FIND_EXPIRED).all(now, limit) as JobRow[]).map(toJob);
  }

  async *loadDispatchable(): AsyncIterable<{ entry: DispatchEntry; state: JobState }> {
    type Row = Parameters<typeof dispatchEntryOf>[0] & { state: JobState };
    for (const r of this.stmt(Q.LOAD_DISPATCHABLE).iterate() as Iterable<Row>) yield { entry: dispatchEntryOf(r), state: r.state };
  }

  async countRunning(): Promise<RunningCount[]> {
    return this.stmt(Q.COUNT_RUNNING).all() as RunningCount[];
  }

  async runningByWorker(): Promise<{ workerId: string; running: number }[]> {
    return this.stmt(Q.RUNNING_BY_WORKER).all() as { workerId: string; running: number }[];
  }

  async countByState(filter: Pick<JobFilter, 'tenant' | 'queue'>): Promise<Record<JobState, number>> {
    const { sql, params } = countByStateQuery(SQLITE_FILTERS, filter);
    return stateCounts(this.stmt(sql).all(params) as { state: JobState; n: number }[]);
  }

  async countByQueue(filter: Pick<JobFilter, 'tenant'>): Promise<QueueDepth[]> {
    const { sql, params } = countByQueueQuery(SQLITE_FILTERS, filter);
    const rows = this.stmt(sql).all(params) as { queue: string; state: JobState; n: number }[];
    const paused = await this.pausedQueues();
    return depthsOf(rows, paused);
  }

  async queueActivity(filter: Pick<JobFilter, 'tenant'> & { queues: readonly string[] }, since: number, bucketMs: number): Promise<QueueActivityRows> {
    if (filter.queues.length === 0) return { finished: [], oldestReady: [] };
    const params = { queues: JSON.stringify(filter.queues), tenant: filter.tenant ?? null };
    return {
      finished: this.stmt(Q.QUEUE_FINISHED).all({ ...params, since, bucketMs }) as QueueActivityRows['finished'],
      oldestReady: this.stmt(Q.QUEUE_OLDEST_READY).all(params) as QueueActivityRows['oldestReady'],
    };
  }

  async findIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.stmt(Q.GET_IDEMPOTENCY).get(tenant, key) as IdempotencyRecord | undefined;
  }

  async pruneIdempotency(before: number): Promise<number> {
    return this.stmt(Q.PRUNE_IDEMPOTENCY).run(before).changes;
  }

  async setQueuePaused(queue: string, paused: boolean, now: number): Promise<void> {
    this.stmt(Q.SET_QUEUE_PAUSED).run({ queue, paused: paused ? 1 : 0, now });
  }

  async pausedQueues(): Promise<string[]> {
    return (this.stmt(Q.PAUSED_QUEUES).all() as { name: string }[]).map((r) => r.name);
  }

  async recordConditionFailure(key: string, error: string, now: number, nextProbeAt: number): Promise<ConditionRecord> {
    return this.stmt(Q.RECORD_CONDITION_FAILURE).get({ key, error, now, nextProbeAt }) as ConditionRecord;
  }

  async getCondition(key: string): Promise<ConditionRecord | undefined> {
    return this.stmt(Q.GET_CONDITION).get(key) as ConditionRecord | undefined;
  }

  async listConditions(): Promise<ConditionRecord[]> {
    return this.stmt(Q.LIST_CONDITIONS).all() as ConditionRecord[];
  }

  async saveCondition(record: ConditionRecord, expectedUpdatedAt: number): Promise<boolean> {
    const { key, status, firstSeenAt, probeJobId, nextProbeAt, probeFailures, releasingSince, released, updatedAt } = record;
    const params = { key, status, firstSeenAt, probeJobId, nextProbeAt, probeFailures, releasingSince, released, updatedAt, expectedUpdatedAt };
    return this.stmt(Q.SAVE_CONDITION).run(params).changes === 1;
  }

  async deleteCondition(key: string): Promise<void> {
    this.stmt(Q.DELETE_CONDITION).run(key);
  }

  async parkedCounts(): Promise<ParkedCount[]> {
    return this.stmt(Q.PARKED_COUNTS).all() as ParkedCount[];
  }

  async parkedScopes(): Promise<{ condition: string; queue: string; type: string }[]> {
    return this.stmt(Q.PARKED_SCOPES).all() as { condition: string; queue: string; type: string }[];
  }

  async listParked(condition: string, limit: number): Promise<Job[]> {
    return (this.stmt(Q.LIST_PARKED).all(condition, limit) as JobRow[]).map(toJob);
  }

  async deleteJobs(ids: readonly string[]): Promise<number> {
    const del = this.stmt(Q.DELETE_JOB);
    return this.db.transaction(() => {
      materializeRanges(this.stmt, ids);
      return [...new Set(ids)].reduce((n, id) => n + del.run(id).changes, 0);
    })();
  }

  async findPrunable(queue: string, state: JobState, finishedBefore: number | null, keep: number | null, limit: number): Promise<string[]> {
    if ((finishedBefore === null && keep === null) || limit <= 0) return [];
    const sql = Q.findPrunable({ keep: keep !== null, before: finishedBefore !== null });
    const params: Record<string, unknown> = { queue, state, limit };
    if (keep !== null) params.keep = Math.max(0, keep);
    if (finishedBefore !== null) params.before = finishedBefore;
    return (this.stmt(sql).all(params) as { id: string }[]).map((r) => r.id);
  }

  async ping(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private transitionOne(request: TransitionRequest): TransitionResult {
    let r = request;
    if (r.from.length > 1) {
      // Several states allowed: read which one applies, so the result can say where the job came from.
      const current = this.stmt(Q.STATE_OF).get(r.id) as { state: JobState } | undefined;
      if (!current) return { ok: false, reason: 'not_found' };
      if (!r.from.includes(current.state)) return { ok: false, reason: 'wrong_state', state: current.state };
      r = { ...r, from: [current.state] };
    }
    const keys = (Object.keys(r.patch) as (keyof typeof PATCH_COLUMNS)[]).filter((k) => r.patch[k] !== undefined).sort();
    const sql =
      `UPDATE jobs_hot SET state = @to, updated_at = @now${keys.map((k) => `, ${PATCH_COLUMNS[k].sql}`).join('')}` +
      ` WHERE id = @id AND state IN (${r.from.map((s) => `'${s}'`).join(',')})` +
      (r.leaseToken !== undefined ? ' AND lease_token = @leaseToken' : '') +
      ' RETURNING id, tenant, attempt, run_at, worker_id, condition, state_reason';
    const params: Record<string, unknown> = { id: r.id, to: r.to, now: r.now };
    if (r.leaseToken !== undefined) params.leaseToken = r.leaseToken;
    for (const k of keys) {
      const column = PATCH_COLUMNS[k] as { value: (v: unknown) => unknown };
      params[k === 'leaseToken' ? 'leaseTokenNew' : k] = column.value(r.patch[k]);
    }
    const changed = this.stmt(sql).get(params) as LoggedRow | undefined;
    if (!changed) return this.whyNot(r.id, r.from);
    // The hot path's two moves have no trigger (migrations/0016_hot_path.sql): logged here when they come this way.
    const kind = r.from[0] === 'ready' && r.to === 'running' ? STARTED : r.from[0] === 'running' && r.to === 'succeeded' ? SUCCEEDED : null;
    if (kind) logBatch(this.stmt, kind, [changed], r.now, changed.attempt, changed.worker_id);
    return { ok: true, job: toJob(this.stmt(Q.GET_JOB).get(r.id) as JobRow), from: r.from[0]! };
  }

  /** Why a guarded write did not apply. */
  private whyNot(id: string, from: readonly JobState[]): Extract<TransitionResult, { ok: false }> {
    const current = this.stmt(Q.STATE_OF).get(id) as { state: JobState } | undefined;
    if (!current) return { ok: false, reason: 'not_found' };
    if (from.includes(current.state)) return { ok: false, reason: 'lease_mismatch', state: current.state };
    return { ok: false, reason: 'wrong_state', state: current.state };
  }

}

const STARTED: BatchKind = { topic: 'job-events', type: 'started', state: 'running', prevState: 'ready' };
const SUCCEEDED: BatchKind = { topic: 'job-events', type: 'succeeded', state: 'succeeded', prevState: 'running' };


/**
 * The events of new jobs, as 0005_events's insert trigger wrote them: `submitted`, then
 * `scheduled` (job-events) or `waiting` (dependency-events) for a job that does not start ready.
 * One batch row per kind, state and creation time.
 */
function logSubmitted(stmt: (sql: string) => Database.Statement, jobs: readonly NewJob[]): void {
  const groups = new Map<string, NewJob[]>();
  for (const j of jobs) {
    const key = `${j.state} ${j.createdAt}`;
    const group = groups.get(key);
    if (group) group.push(j);
    else groups.set(key, [j]);
  }
  for (const group of groups.values()) {
    const { state, createdAt } = group[0]!;
    const rows = group.map((j): LoggedRow => ({ id: j.id, tenant: j.tenant, attempt: 0, run_at: j.runAt, worker_id: null, condition: null, state_reason: null }));
    const shared = sharedOf(group);
    logBatch(stmt, { topic: 'job-events', type: 'submitted', state, prevState: null }, rows, createdAt, 0, null, shared, true);
    if (state === 'scheduled' || state === 'waiting') {
      logBatch(stmt, { topic: state === 'waiting' ? 'dependency-events' : 'job-events', type: state, state, prevState: null }, rows, createdAt, 0, null, shared, true);
    }
  }
}
