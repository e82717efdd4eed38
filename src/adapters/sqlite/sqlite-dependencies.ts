import type Database from 'better-sqlite3';
import type { DependencyFailurePolicy } from '../../domain/dag.js';
import { ValidationError } from '../../domain/errors.js';
import { dispatchEntryOf, type DispatchEntry, type JobError } from '../../domain/job.js';
import type { JobState } from '../../domain/states.js';
import { ReleaseListeners, type DependencyState, type JobDependencies } from '../../ports/dependencies.js';
import { statementCache } from './statements.js';
import { UNSUCCESSFUL, sqlList } from '../sql/state-lists.js';
import type { NewJob } from '../../ports/store.js';

/** A dependency that failed, was cancelled or expired: the dependent's policy decides. */
const FAILED = `(${sqlList(UNSUCCESSFUL)})`;

/** Waiting candidates (@ids, a JSON array) that a failed dependency cancels under their `cancel` policy. */
const CANCEL_DOOMED = `UPDATE jobs_hot SET state = 'cancelled', state_reason = 'upstream_failed', finished_at = @now, updated_at = @now
  WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'waiting' AND EXISTS (
    SELECT 1 FROM job_deps d JOIN jobs_hot u ON u.id = d.depends_on
    WHERE d.job_id = jobs_hot.id AND d.on_failure = 'cancel' AND u.state IN ${FAILED})
  RETURNING id`;

/** Waiting candidates whose every dependency is done: succeeded, or ended otherwise under `continue`. */
const RELEASE_DONE = `UPDATE jobs_hot SET state = 'ready', state_reason = 'dependencies_done', updated_at = @now
  WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'waiting' AND NOT EXISTS (
    SELECT 1 FROM job_deps d JOIN jobs_hot u ON u.id = d.depends_on
    WHERE d.job_id = jobs_hot.id AND u.state <> 'succeeded' AND (d.on_failure = 'cancel' OR u.state NOT IN ${FAILED}))
  RETURNING id, queue, tenant, priority, run_at,
    (SELECT s.type FROM job_specs s WHERE s.id = jobs_hot.id) AS type, (SELECT s.labels FROM job_specs s WHERE s.id = jobs_hot.id) AS labels`;

const DEPENDENTS_OF_ANY = 'SELECT DISTINCT job_id FROM job_deps WHERE depends_on IN (SELECT value FROM json_each(?))';
const INSERT_EDGE = 'INSERT INTO job_deps (job_id, depends_on, on_failure) VALUES (?, ?, ?)';
const STATES_OF = 'SELECT id, tenant, state FROM jobs_hot WHERE id IN (SELECT value FROM json_each(?))';
const DEPENDENCIES_OF = `SELECT d.depends_on AS id, d.on_failure, j.type, j.state, j.result, j.errors, j.finished_at
  FROM job_deps d LEFT JOIN jobs j ON j.id = d.depends_on WHERE d.job_id = ? ORDER BY d.depends_on`;
const DEPENDENTS_OF = `SELECT d.job_id AS id, j.state FROM job_deps d JOIN jobs_hot j ON j.id = d.job_id
  WHERE d.depends_on = ? ORDER BY d.job_id`;

type DependencyRow = { id: string; on_failure: DependencyFailurePolicy; type: string | null; state: JobState | null; result: string | null; errors: string | null; finished_at: number | null };
type ReleasedRow = Parameters<typeof dispatchEntryOf>[0];

/**
 * Dependency resolution for the SQLite store. Its write methods run inside the store's
 * transactions (SQLite has one writer, so a dependent's check sees every committed change); the
 * store tells the listeners after commit what they released.
 */
export class SqliteDependencies implements JobDependencies {
  private readonly listeners = new ReleaseListeners();
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.stmt = statementCache(db);
  }

  /**
   * After inserting `jobs` (in the same transaction): records the edges of those with dependsOn,
   * each dependency an existing job of the same tenant or one of `jobs`, then resolves them at
   * once (a dependency that already succeeded counts as done; one already failed applies the policy).
   */
  linkNew(jobs: readonly NewJob[]): DispatchEntry[] {
    const dependents = jobs.filter((j) => j.dependsOn !== undefined && j.dependsOn.length > 0);
    if (dependents.length === 0) return [];
    const wanted = [...new Set(dependents.flatMap((j) => j.dependsOn!))];
    const found = new Map((this.stmt(STATES_OF).all(JSON.stringify(wanted)) as { id: string; tenant: string }[]).map((r) => [r.id, r.tenant]));
    const insert = this.stmt(INSERT_EDGE);
    for (const j of dependents) {
      j.dependsOn!.forEach((dep, k) => {
        if (found.get(dep) !== j.tenant) throw new ValidationError([{ path: `/dependsOn/${k}`, message: `no job "${dep}" in tenant ${j.tenant}` }]);
        insert.run(j.id, dep, j.onDependencyFailure ?? 'cancel');
      });
    }
    return this.resolve(dependents.map((j) => j.id), Math.max(...dependents.map((j) => j.createdAt)));
  }

  /**
   * After jobs reached a terminal state (same transaction): resolves their waiting dependents.
   * One indexed lookup for the batch; nothing more when none of them has dependents.
   */
  settleAfter(ids: readonly string[], now: number): DispatchEntry[] {
    if (ids.length === 0) return [];
    const dependents = (this.stmt(DEPENDENTS_OF_ANY).all(JSON.stringify(ids)) as { job_id: string }[]).map((r) => r.job_id);
    return dependents.length === 0 ? [] : this.resolve(dependents, now);
  }

  /**
   * Cancels the candidates a failed dependency dooms, releases those whose dependencies are all
   * done, then does the same for the dependents of the cancelled ones, level by level (a loop, not
   * recursion: a long chain cancels without a deep stack).
   */
  private resolve(candidates: string[], now: number): DispatchEntry[] {
    const released: DispatchEntry[] = [];
    const cancel = this.stmt(CANCEL_DOOMED);
    const release = this.stmt(RELEASE_DONE);
    const dependentsOf = this.stmt(DEPENDENTS_OF_ANY);
    while (candidates.length > 0) {
      const ids = JSON.stringify(candidates);
      const doomed = (cancel.all({ ids, now }) as { id: string }[]).map((r) => r.id);
      for (const r of release.all({ ids, now }) as ReleasedRow[]) {
        released.push(dispatchEntryOf(r));
      }
      candidates = doomed.length === 0 ? [] : (dependentsOf.all(JSON.stringify(doomed)) as { job_id: string }[]).map((r) => r.job_id);
    }
    return released;
  }

  /** Tells the listeners (after commit). */
  published(released: readonly DispatchEntry[]): Promise<void> {
    return this.listeners.notify(released);
  }

  onReleased(listener: (entries: DispatchEntry[]) => Promise<void> | void): () => void {
    return this.listeners.add(listener);
  }

  async dependenciesOf(jobId: string): Promise<{ policy: DependencyFailurePolicy; dependencies: DependencyState[] } | null> {
    const rows = this.stmt(DEPENDENCIES_OF).all(jobId) as DependencyRow[];
    if (rows.length === 0) return null;
    return {
      policy: rows[0]!.on_failure,
      dependencies: rows.map((r) => {
        const errors = r.errors === null || r.errors === '[]' ? [] : (JSON.parse(r.errors) as JobError[]);
        return {
          id: r.id,
          type: r.type,
          state: r.state,
          result: r.result === null ? undefined : JSON.parse(r.result),
          error: r.state !== 'succeeded' ? (errors.at(-1) ?? null) : null,
          finishedAt: r.finished_at,
        };
      }),
    };
  }

  async dependentsOf(jobId: string): Promise<{ id: string; state: JobState }[]> {
    return this.stmt(DEPENDENTS_OF).all(jobId) as { id: string; state: JobState }[];
  }

  async statesOf(ids: readonly string[]): Promise<{ id: string; tenant: string; state: JobState }[]> {
    if (ids.length === 0) return [];
    return this.stmt(STATES_OF).all(JSON.stringify(ids)) as { id: string; tenant: string; state: JobState }[];
  }

}
