import type pg from 'pg';
import type { DependencyFailurePolicy } from '../../domain/dag.js';
import { ValidationError } from '../../domain/errors.js';
import { dispatchEntryOf, type DispatchEntry, type JobError } from '../../domain/job.js';
import type { JobState } from '../../domain/states.js';
import { ReleaseListeners, type DependencyState, type JobDependencies } from '../../ports/dependencies.js';
import type { NewJob } from '../../ports/store.js';
import { PG_TYPES } from './rows.js';

/** Marks the dependencies (locking them until commit: see migrations/0009) and names their tenants. */
const MARK_DEPENDENCIES = `UPDATE jobs SET has_dependents = true WHERE id = ANY($1::text[]) RETURNING id, tenant`;

const INSERT_EDGES = `INSERT INTO job_deps (job_id, depends_on, on_failure)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`;

// The join reads type and labels (which a release does not change) for claim filters.
const SETTLE_WAITING = `SELECT w.released_id AS id, w.released_queue AS queue, w.released_tenant AS tenant,
  w.released_priority AS priority, w.released_run_at AS run_at, j.type, j.labels
  FROM docket_settle_waiting($1::text[], $2::bigint) w JOIN jobs j ON j.id = w.released_id`;

/**
 * The ready dependents of jobs that just settled, directly or through dependents the settling
 * cancelled (upstream_failed): what the trigger released, read back after it ran. A dependent
 * released earlier by another change may be among them; enqueueing it again is harmless.
 */
const RELEASED_AFTER = `WITH RECURSIVE settled(id) AS (
  SELECT unnest($1::text[]) COLLATE "C"
  UNION
  SELECT d.job_id FROM settled s JOIN job_deps d ON d.depends_on = s.id JOIN jobs j ON j.id = d.job_id
  WHERE j.state = 'cancelled' AND j.state_reason = 'upstream_failed'
)
SELECT DISTINCT j.id, j.queue, j.tenant, j.priority, j.run_at, j.type, j.labels
FROM settled s JOIN job_deps d ON d.depends_on = s.id JOIN jobs j ON j.id = d.job_id
WHERE j.state = 'ready'`;

const STATES_OF = 'SELECT id, tenant, state FROM jobs WHERE id = ANY($1::text[])';

const DEPENDENCIES_OF = `SELECT d.depends_on AS id, d.on_failure, j.type, j.state, j.result, j.errors->-1 AS error, j.finished_at
  FROM job_deps d LEFT JOIN jobs j ON j.id = d.depends_on WHERE d.job_id = $1 ORDER BY d.depends_on`;

const DEPENDENTS_OF = `SELECT d.job_id AS id, j.state FROM job_deps d JOIN jobs j ON j.id = d.job_id
  WHERE d.depends_on = $1 ORDER BY d.job_id`;

type ReleasedRow = Parameters<typeof dispatchEntryOf>[0];
type DependencyRow = { id: string; on_failure: DependencyFailurePolicy; type: string | null; state: JobState | null; result: string | null; error: JobError | null; finished_at: number | null };
type Queryable = pg.Pool | pg.PoolClient;

const toEntry = (r: ReleasedRow): DispatchEntry => dispatchEntryOf(r);

/**
 * Dependency resolution for the PostgreSQL store. The resolution itself is the database's
 * (migrations/0009_dependencies.sql: a trigger, in the transaction of every change that settles a
 * job); this reads back what it released so the service can push it to the dispatch index.
 */
export class PostgresDependencies implements JobDependencies {
  private readonly listeners = new ReleaseListeners();

  constructor(private readonly pool: pg.Pool) {}

  /**
   * After inserting `jobs` (same transaction): marks and locks their dependencies, checks each is
   * a job of the same tenant, records the edges and resolves the new dependents at once (already
   * succeeded dependencies count as done; already failed ones apply the policy).
   */
  async linkNew(client: pg.PoolClient, jobs: readonly NewJob[]): Promise<DispatchEntry[]> {
    const dependents = jobs.filter((j) => j.dependsOn !== undefined && j.dependsOn.length > 0);
    if (dependents.length === 0) return [];
    const wanted = [...new Set(dependents.flatMap((j) => j.dependsOn!))].sort();
    const marked = await client.query<{ id: string; tenant: string }>({ text: MARK_DEPENDENCIES, values: [wanted], types: PG_TYPES });
    const found = new Map(marked.rows.map((r) => [r.id, r.tenant]));
    const edges: [string[], string[], string[]] = [[], [], []];
    for (const j of dependents) {
      j.dependsOn!.forEach((dep, k) => {
        if (found.get(dep) !== j.tenant) throw new ValidationError([{ path: `/dependsOn/${k}`, message: `no job "${dep}" in tenant ${j.tenant}` }]);
        edges[0].push(j.id);
        edges[1].push(dep);
        edges[2].push(j.onDependencyFailure ?? 'cancel');
      });
    }
    await client.query({ text: INSERT_EDGES, values: edges, types: PG_TYPES });
    const now = Math.max(...dependents.map((j) => j.createdAt));
    const { rows } = await client.query<ReleasedRow>({ text: SETTLE_WAITING, values: [dependents.map((j) => j.id), now], types: PG_TYPES });
    return rows.map(toEntry);
  }

  /** The dependents released by the settling of `ids` (see RELEASED_AFTER); no query when `ids` is empty. */
  async releasedAfter(db: Queryable, ids: readonly string[]): Promise<DispatchEntry[]> {
    if (ids.length === 0) return [];
    const { rows } = await db.query<ReleasedRow>({ name: 'docket_released_after', text: RELEASED_AFTER, values: [ids], types: PG_TYPES });
    return rows.map(toEntry);
  }

  /** Tells the listeners (after commit). */
  published(released: readonly DispatchEntry[]): Promise<void> {
    return this.listeners.notify(released);
  }

  onReleased(listener: (entries: DispatchEntry[]) => Promise<void> | void): () => void {
    return this.listeners.add(listener);
  }

  async dependenciesOf(jobId: string): Promise<{ policy: DependencyFailurePolicy; dependencies: DependencyState[] } | null> {
    const { rows } = await this.pool.query<DependencyRow>({ text: DEPENDENCIES_OF, values: [jobId], types: PG_TYPES });
    if (rows.length === 0) return null;
    return {
      policy: rows[0]!.on_failure,
      dependencies: rows.map((r) => ({
        id: r.id,
        type: r.type,
        state: r.state,
        result: r.result === null ? undefined : JSON.parse(r.result),
        error: r.state !== 'succeeded' ? (r.error ?? null) : null,
        finishedAt: r.finished_at,
      })),
    };
  }

  async dependentsOf(jobId: string): Promise<{ id: string; state: JobState }[]> {
    return (await this.pool.query<{ id: string; state: JobState }>({ text: DEPENDENTS_OF, values: [jobId], types: PG_TYPES })).rows;
  }

  async statesOf(ids: readonly string[]): Promise<{ id: string; tenant: string; state: JobState }[]> {
    if (ids.length === 0) return [];
    return (await this.pool.query<{ id: string; tenant: string; state: JobState }>({ text: STATES_OF, values: [ids], types: PG_TYPES })).rows;
  }
}
