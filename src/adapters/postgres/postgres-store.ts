import pg from 'pg';
import { inTransaction } from './transaction.js';
import { PostgresJobLogStore } from './postgres-job-log-store.js';
import { dispatchEntryOf, type DispatchEntry, type Job } from '../../domain/job.js';
import type { RunningCount } from '../../ports/dispatch.js';
import type { TransitionFailure, TransitionResult } from '../../domain/outcomes.js';
import { depthsOf } from '../../domain/queue-depths.js';
import { isTerminal, type JobState } from '../../domain/states.js';
import { COMPLETABLE, DISPATCHABLE } from '../sql/state-lists.js';
import type {
  JobClaim,
  ClaimResult,
  Completion,
  CompletionResult,
  ConditionRecord,
  IdempotencyRecord,
  DedupInsert,
  DedupKey,
  JobFilter,
  JobPage,
  LeaseExtension,
  NewJob,
  ParkedCount,
  QueueDepth,
  QueueActivityRows,
  Store,
  StoreCompanions,
  TransitionRequest,
} from '../../ports/store.js';
import { PostgresScheduleStore } from './postgres-schedule-store.js';
import { PostgresTemplateStore } from './postgres-template-store.js';
import { PostgresWebhookStore } from './postgres-webhook-store.js';
import { PostgresAlertStore } from './postgres-alert-store.js';
import { migrate } from './migrate.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresDependencies } from './postgres-dependencies.js';
import * as Q from './queries.js';
import * as DQ from './dedup-queries.js';
import { takeDedupKey } from './postgres-dedup.js';
import { transitionBatch } from './postgres-transitions.js';
import { redirectDependencies } from '../../domain/dedup.js';
import { PG_TYPES, POSTGRES_FILTERS, insertArrays } from './rows.js';
import { toClaimedJob, toJob, type ClaimedRow, type JobRow } from '../sql/job-rows.js';
import { countByQueueQuery, countByStateQuery, listJobsQuery, stateCounts } from '../sql/job-filters.js';

export interface PostgresStoreOptions {
  /** Used when no pool is given, e.g. postgres://user@host:5432/db. */
  connectionString?: string;
  /** A pool to share; the store does not end it on close(). */
  pool?: pg.Pool;
  /**
   * Schema holding Docket's tables (default `public`); it must exist. On a pool the store creates, every
   * connection starts with this search_path. On a given pool, only connections opened after the
   * store was created get it: better configure the pool's search_path yourself.
   */
  schema?: string;
  /** Size of the pool the store creates (default 10). */
  max?: number;
  /**
   * Errors of connections the pool holds (idle or lent out) when the server goes away. They also
   * fail the queries in flight, which their callers see; this is for the log. Default: ignored.
   */
  onError?: (err: unknown) => void;
}

/** Rows read per page while rebuilding the dispatch index: bounded memory, few round trips. */
const DISPATCH_PAGE = 5000;
/**
 * Reads (get, list) also load the job's callback_url (migration 0011). It is kept out of
 * Q.JOB_COLUMNS, which the claim and transition statements return: those rows carry no callbackUrl.
 */
const READ_COLUMNS = `${Q.JOB_COLUMNS}, callback_url`;
const GET_JOB_READ = `SELECT ${READ_COLUMNS} FROM jobs WHERE id = $1`;

/**
 * The production store: PostgreSQL through node-postgres. Batches (insert, claim, complete,
 * lease extension) are one statement, so one round trip, whatever their size; transition batches
 * are one transaction. Against deadlocks between concurrent batches, rows are locked in id order:
 * transition says so (ORDER BY ... FOR UPDATE); the other batches are sent sorted by id, which
 * the usual plan (a nested loop over the batch) follows.
 */
export class PostgresStore implements Store {
  readonly pool: pg.Pool;
  readonly events: PostgresEventLog;
  readonly dependencies: PostgresDependencies;
  private companionStores: StoreCompanions | undefined;
  private readonly ownsPool: boolean;
  private closed = false;

  constructor(options: PostgresStoreOptions = {}) {
    const schema = options.schema ?? 'public';
    // Kept to plain identifiers: the name goes into a startup option and a SET command.
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
    if (options.pool) {
      this.pool = options.pool;
      this.ownsPool = false;
      if (options.schema !== undefined) {
        // Queued before anything the connection is lent for; a failure shows on the first query.
        this.pool.on('connect', (client) => void client.query(`SET search_path TO "${schema}"`).catch(() => {}));
      }
    } else {
      this.pool = new pg.Pool({
        connectionString: options.connectionString,
        max: options.max ?? 10,
        // Applied by the server at connection start: no extra round trip per connection. Without
        // an explicit schema, the URL's own `?options=-c search_path=...` (if any) is left to apply.
        ...(options.schema !== undefined ? { options: `-c search_path="${schema}"` } : {}),
      });
      this.ownsPool = true;
      const onError = options.onError ?? (() => {});
      // An idle connection that dies (server restart) is dropped from the pool, and the next query
      // opens a new one; without a listener the 'error' event would crash the process.
      this.pool.on('error', onError);
      // A connection lent out (a transaction, a migration) has no pool listener while it is out:
      // `pg_ctl restart -m immediate` under load crashed the process with an unhandled 'error'
      // (ECONNRESET, "Connection terminated unexpectedly"). Its queries fail; the caller sees that.
      this.pool.on('connect', (client) => client.on('error', onError));
    }
    this.events = new PostgresEventLog(this.pool);
    this.dependencies = new PostgresDependencies(this.pool);
  }

  /** Made on first use, then the same ones for every caller. */
  companions(): StoreCompanions {
    return (this.companionStores ??= { schedules: new PostgresScheduleStore(this), templates: new PostgresTemplateStore(this), webhooks: new PostgresWebhookStore(this.pool), alerts: new PostgresAlertStore(this.pool), logs: new PostgresJobLogStore(this.pool) });
  }

  async migrate(): Promise<void> {
    await migrate(this.pool);
  }

  async insertJobs(jobs: readonly NewJob[], idempotency?: IdempotencyRecord): Promise<IdempotencyRecord | null> {
    // Jobs with dependencies need a transaction (edges, locks on the dependencies, resolution).
    if (!idempotency && !jobs.some((j) => j.dependsOn !== undefined && j.dependsOn.length > 0)) {
      // One statement: all rows or none (a duplicate id fails the whole batch).
      if (jobs.length > 0) await this.query('docket_insert_jobs', Q.INSERT_JOBS, insertArrays(jobs));
      return null;
    }
    return this.inTransaction(async (client) => {
      const earlier = idempotency ? await this.takeIdempotency(client, idempotency) : null;
      if (earlier) return earlier;
      await this.writeJobs(client, jobs);
      return null;
    });
  }

  /**
   * The key is taken first: if it already was, nothing of this request is written (the earlier
   * record is returned). A concurrent holder of the same key makes this wait for its commit, then see its record.
   */
  private async takeIdempotency(client: pg.PoolClient, k: IdempotencyRecord): Promise<IdempotencyRecord | null> {
    const values = [k.tenant, k.key, k.requestHash, k.status, k.response, k.createdAt];
    const taken = await client.query({ name: 'docket_insert_idempotency', text: Q.INSERT_IDEMPOTENCY, values, types: PG_TYPES });
    if (taken.rowCount !== 0) return null;
    const earlier = await client.query<IdempotencyRecord>({ text: Q.GET_IDEMPOTENCY, values: [k.tenant, k.key], types: PG_TYPES });
    return earlier.rows[0]!;
  }

  /** The rows of insertJobs and insertJobsDeduplicated, inside their transaction. */
  private async writeJobs(client: pg.PoolClient, jobs: readonly NewJob[]): Promise<void> {
    if (jobs.length > 0) await client.query({ name: 'docket_insert_jobs', text: Q.INSERT_JOBS, values: insertArrays(jobs), types: PG_TYPES });
    // Dependents resolve at once; the service reads back the ones released (all dependencies done).
    await this.dependencies.linkNew(client, jobs);
  }

  /**
   * Keys are taken in key order, so two submits sharing several keys cannot deadlock; submits with
   * different keys touch different rows and never wait for each other.
   */
  async insertJobsDeduplicated(
    jobs: readonly NewJob[],
    keys: readonly (DedupKey | null)[],
    idempotency?: IdempotencyRecord,
    render?: (existing: readonly (Job | null)[]) => { status: number; response: string },
  ): Promise<DedupInsert> {
    return this.inTransaction(async (client): Promise<DedupInsert> => {
      if (idempotency) {
        const earlier = await this.takeIdempotency(client, idempotency);
        if (earlier) return { earlier, existing: [] };
      }
      const existing: (Job | null)[] = jobs.map(() => null);
      const order = jobs.map((_, i) => i).filter((i) => keys[i]).sort((a, b) => (keys[a]!.key < keys[b]!.key ? -1 : keys[a]!.key > keys[b]!.key ? 1 : 0));
      for (const i of order) existing[i] = await takeDedupKey(client, jobs[i]!, keys[i]!);
      const moved = new Map(jobs.flatMap((j, i) => (existing[i] ? [[j.id, existing[i]!.id] as const] : [])));
      await this.writeJobs(client, redirectDependencies(jobs.filter((_, i) => existing[i] === null), moved));
      if (idempotency && render) {
        const { status, response } = render(existing);
        await client.query({ text: DQ.SET_IDEMPOTENCY_RESPONSE, values: [idempotency.tenant, idempotency.key, status, response] });
      }
      return { earlier: null, existing };
    });
  }

  async pruneDedupKeys(now: number): Promise<number> {
    return (await this.query(undefined, DQ.PRUNE_DEDUP_KEYS, [now])).rowCount ?? 0;
  }

  async getJob(id: string): Promise<Job | undefined> {
    const { rows } = await this.query<JobRow>('docket_get_job_read', GET_JOB_READ, [id]);
    return rows[0] && toJob(rows[0]);
  }

  async listJobs(filter: JobFilter, limit: number, after?: string): Promise<JobPage> {
    const { sql, params } = listJobsQuery(POSTGRES_FILTERS, READ_COLUMNS, filter, limit, after);
    const { rows } = await this.query<JobRow>(undefined, sql, params);
    const more = rows.length > limit;
    const jobs = rows.slice(0, limit).map(toJob);
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  /** One transaction: the batch (postgres-transitions.ts), then the dependents its settled jobs released. */
  async transition(requests: readonly TransitionRequest[]): Promise<TransitionResult[]> {
    if (requests.length === 0) return [];
    let released: DispatchEntry[] = [];
    const outcome = await this.inTransaction(async (client) => {
      const results = await transitionBatch(client, requests);
      // The trigger resolved the dependents of jobs that settled: read back what it released.
      released = await this.dependencies.releasedAfter(client, results.flatMap((r) => (r.ok && isTerminal(r.job.state) ? [r.job.id] : [])));
      return results;
    });
    await this.dependencies.published(released);
    return outcome;
  }

  async completeJobs(completions: readonly Completion[], now: number): Promise<CompletionResult[]> {
    if (completions.length === 0) return [];
    const order = idOrder(completions);
    const values = [
      order.map((i) => completions[i]!.id),
      order.map((i) => completions[i]!.leaseToken),
      order.map((i) => (completions[i]!.result === undefined ? null : JSON.stringify(completions[i]!.result))),
      now,
    ];
    // `settled` rows are completed jobs that have dependents (the trigger resolved those); the others are misses.
    type Miss = { n: number; state: JobState | null; token_matched: boolean | null; settled: string | null };
    // A batch of one has a statement of its own, planned once (queries.ts, SINGLE).
    const [name, text] = completions.length === 1 ? ['docket_complete_one', Q.COMPLETE_ONE] : ['docket_complete_jobs', Q.COMPLETE_JOBS];
    const { rows } = await this.query<Miss>(name, text, values);
    const results: CompletionResult[] = completions.map(() => ({ ok: true }));
    const settled = rows.flatMap((r) => (r.settled === null ? [] : [r.settled]));
    if (settled.length > 0) await this.dependencies.published(await this.dependencies.releasedAfter(this.pool, settled));
    for (const miss of rows) {
      if (miss.settled !== null) continue;
      const index = order[miss.n - 1]!;
      if (miss.state === null) results[index] = { ok: false, reason: 'not_found' };
      else if (!COMPLETABLE.includes(miss.state)) results[index] = { ok: false, reason: 'wrong_state', state: miss.state };
      else if (!miss.token_matched) results[index] = { ok: false, reason: 'lease_mismatch', state: miss.state };
      // Running with this token when the statement started, yet not completed: a concurrent write
      // (or an earlier completion of the same job in this batch) won. Read where it stands now.
      else results[index] = await this.whyNot(completions[index]!.id, COMPLETABLE);
    }
    return results;
  }

  async claimJobs(claims: readonly JobClaim[], workerId: string, leaseExpiresAt: number, now: number): Promise<ClaimResult> {
    // The first claim of a job wins, as if claims ran one by one; later ones find it running.
    const first = new Map<string, { token: string; index: number }>();
    claims.forEach((c, index) => first.has(c.id) || first.set(c.id, { token: c.leaseToken, index }));
    if (first.size === 0) return { claimed: [], expired: [] };
    const ids = [...first.keys()].sort();
    const values = [ids, ids.map((id) => first.get(id)!.token), leaseExpiresAt, workerId, now];
    const [name, text] = ids.length === 1 ? ['docket_claim_one', Q.CLAIM_ONE] : ['docket_claim_jobs', Q.CLAIM_JOBS];
    const { rows } = await this.query<JobRow & { expired: boolean }>(name, text, values);
    const claimed: { job: Job; index: number }[] = [];
    const expired: Job[] = [];
    for (const row of rows) {
      if (row.expired) expired.push(toJob(row));
      else {
        const { token, index } = first.get(row.id)!;
        claimed.push({ job: toClaimedJob(row as ClaimedRow, { leaseToken: token, leaseExpiresAt, workerId, now }), index });
      }
    }
    // In request order: the dispatcher asked in priority order.
    claimed.sort((a, b) => a.index - b.index);
    expired.sort((a, b) => first.get(a.id)!.index - first.get(b.id)!.index);
    if (expired.length > 0) await this.dependencies.published(await this.dependencies.releasedAfter(this.pool, expired.map((j) => j.id)));
    return { claimed: claimed.map((c) => c.job), expired };
  }

  async extendLeases(leases: readonly LeaseExtension[], leaseExpiresAt: number, now: number): Promise<string[]> {
    if (leases.length === 0) return [];
    const order = idOrder(leases);
    const values = [order.map((i) => leases[i]!.id), order.map((i) => leases[i]!.leaseToken), leaseExpiresAt, now];
    const { rows } = await this.query<{ id: string }>('docket_extend_leases', Q.EXTEND_LEASES, values);
    const held = new Set(rows.map((r) => r.id));
    return leases.filter((l) => !held.has(l.id)).map((l) => l.id);
  }

  async findExpiredLeases(now: number, limit: number): Promise<Job[]> {
    return (await this.query<JobRow>('docket_find_expired_leases', Q.FIND_EXPIRED_LEASES, [now, limit])).rows.map(toJob);
  }

  async findExpired(now: number, limit: number): Promise<Job[]> {
    return (await this.query<JobRow>('docket_find_expired', Q.FIND_EXPIRED, [now, limit])).rows.map(toJob);
  }

  /**
   * Pages through each dispatchable state on its index, so memory stays bounded and no
   * connection or snapshot is held between pages. A job that changes state meanwhile may be seen
   * twice or not at all, which the rebuild tolerates (the index is a cache of this table).
   */
  async *loadDispatchable(): AsyncIterable<{ entry: DispatchEntry; state: JobState }> {
    type Row = Parameters<typeof dispatchEntryOf>[0];
    for (const state of DISPATCHABLE) {
      let after = { queue: '', id: '' };
      for (;;) {
        const values = [state, after.queue, after.id, DISPATCH_PAGE];
        const { rows } = await this.query<Row>('docket_load_dispatchable', Q.LOAD_DISPATCHABLE_PAGE, values);
        for (const r of rows) {
          yield { entry: dispatchEntryOf(r), state };
        }
        if (rows.length < DISPATCH_PAGE) break;
        after = rows[rows.length - 1]!;
      }
    }
  }

  async countByState(filter: Pick<JobFilter, 'tenant' | 'queue'>): Promise<Record<JobState, number>> {
    const { sql, params } = countByStateQuery(POSTGRES_FILTERS, filter);
    return stateCounts((await this.query<{ state: JobState; n: number }>(undefined, sql, params)).rows);
  }

  async countRunning(): Promise<RunningCount[]> {
    return (await this.query<RunningCount>('docket_count_running', Q.COUNT_RUNNING, [])).rows;
  }

  async runningByWorker(): Promise<{ workerId: string; running: number }[]> {
    return (await this.query<{ workerId: string; running: number }>('docket_running_by_worker', Q.RUNNING_BY_WORKER, [])).rows;
  }

  async countByQueue(filter: Pick<JobFilter, 'tenant'>): Promise<QueueDepth[]> {
    const { sql, params } = countByQueueQuery(POSTGRES_FILTERS, filter);
    const { rows } = await this.query<{ queue: string; state: JobState; n: number }>(undefined, sql, params);
    return depthsOf(rows, await this.pausedQueues());
  }

  async queueActivity(filter: Pick<JobFilter, 'tenant'> & { queues: readonly string[] }, since: number, bucketMs: number): Promise<QueueActivityRows> {
    if (filter.queues.length === 0) return { finished: [], oldestReady: [] };
    const tenant = filter.tenant ?? null;
    const [finished, oldest] = await Promise.all([
      this.query<QueueActivityRows['finished'][number]>('docket_queue_finished', Q.QUEUE_FINISHED, [since, bucketMs, filter.queues, tenant]),
      this.query<QueueActivityRows['oldestReady'][number]>('docket_queue_oldest_ready', Q.QUEUE_OLDEST_READY, [filter.queues, tenant]),
    ]);
    // count, slot and min(run_at) are bigint, which pg may hand over as strings.
    return {
      finished: finished.rows.map((r) => ({ queue: r.queue, state: r.state, slot: Number(r.slot), count: Number(r.count) })),
      oldestReady: oldest.rows.map((r) => ({ queue: r.queue, runAt: Number(r.runAt) })),
    };
  }

  async findIdempotency(tenant: string, key: string): Promise<IdempotencyRecord | undefined> {
    return (await this.query<IdempotencyRecord>('docket_get_idempotency', Q.GET_IDEMPOTENCY, [tenant, key])).rows[0];
  }

  async pruneIdempotency(before: number): Promise<number> {
    return (await this.query(undefined, Q.PRUNE_IDEMPOTENCY, [before])).rowCount ?? 0;
  }

  async setQueuePaused(queue: string, paused: boolean, now: number): Promise<void> {
    await this.query(undefined, Q.SET_QUEUE_PAUSED, [queue, paused, now]);
  }

  async pausedQueues(): Promise<string[]> {
    return (await this.query<{ name: string }>('docket_paused_queues', Q.PAUSED_QUEUES, [])).rows.map((r) => r.name);
  }

  async recordConditionFailure(key: string, error: string, now: number, nextProbeAt: number): Promise<ConditionRecord> {
    const { rows } = await this.query<ConditionRecord>('docket_record_condition_failure', Q.RECORD_CONDITION_FAILURE, [key, error, now, nextProbeAt]);
    return rows[0]!;
  }

  async getCondition(key: string): Promise<ConditionRecord | undefined> {
    return (await this.query<ConditionRecord>('docket_get_condition', Q.GET_CONDITION, [key])).rows[0];
  }

  async listConditions(): Promise<ConditionRecord[]> {
    return (await this.query<ConditionRecord>('docket_list_conditions', Q.LIST_CONDITIONS, [])).rows;
  }

  async saveCondition(record: ConditionRecord, expectedUpdatedAt: number): Promise<boolean> {
    const r = record;
    const values = [r.key, r.status, r.firstSeenAt, r.probeJobId, r.nextProbeAt, r.probeFailures, r.releasingSince, r.released, r.updatedAt, expectedUpdatedAt];
    return (await this.query('docket_save_condition', Q.SAVE_CONDITION, values)).rowCount === 1;
  }

  async deleteCondition(key: string): Promise<void> {
    await this.query('docket_delete_condition', Q.DELETE_CONDITION, [key]);
  }

  async parkedCounts(): Promise<ParkedCount[]> {
    return (await this.query<ParkedCount>('docket_parked_counts', Q.PARKED_COUNTS, [])).rows;
  }

  async parkedScopes(): Promise<{ condition: string; queue: string; type: string }[]> {
    return (await this.query<{ condition: string; queue: string; type: string }>('docket_parked_scopes', Q.PARKED_SCOPES, [])).rows;
  }

  async listParked(condition: string, limit: number): Promise<Job[]> {
    return (await this.query<JobRow>('docket_list_parked', Q.LIST_PARKED, [condition, limit])).rows.map(toJob);
  }

  async deleteJobs(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    // Sorted: rows are locked in id order, as every batch of this adapter does (no deadlock).
    const sorted = [...new Set(ids)].sort();
    return (await this.query('docket_delete_jobs', Q.DELETE_JOBS, [sorted])).rowCount ?? 0;
  }

  async findPrunable(queue: string, state: JobState, finishedBefore: number | null, keep: number | null, limit: number): Promise<string[]> {
    if ((finishedBefore === null && keep === null) || limit <= 0) return [];
    const { rows } = await this.query<{ id: string }>('docket_find_prunable', Q.FIND_PRUNABLE, [queue, state, finishedBefore, keep, limit]);
    return rows.map((r) => r.id);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }

  /** Why a guarded write did not apply, read after the fact. */
  private async whyNot(id: string, from: readonly JobState[]): Promise<TransitionFailure> {
    const { rows } = await this.query<{ state: JobState }>('docket_state_of', Q.STATE_OF, [id]);
    const current = rows[0];
    if (!current) return { ok: false, reason: 'not_found' };
    if (from.includes(current.state)) return { ok: false, reason: 'lease_mismatch', state: current.state };
    return { ok: false, reason: 'wrong_state', state: current.state };
  }

  /** A query on the pool; named ones are prepared once per connection and reused. */
  private query<R extends pg.QueryResultRow>(name: string | undefined, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(name ? { name, text, values, types: PG_TYPES } : { text, values, types: PG_TYPES });
  }

  private inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}

/** Indexes of `items` sorted by id: batches are sent in id order (see the class comment). */
function idOrder(items: readonly { id: string }[]): number[] {
  return items.map((_, i) => i).sort((a, b) => (items[a]!.id < items[b]!.id ? -1 : items[a]!.id > items[b]!.id ? 1 : 0));
}

