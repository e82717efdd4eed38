import { planDependencies } from '../../domain/dag.js';
import { ValidationError } from '../../domain/errors.js';
import { toDispatchEntry, type DispatchEntry, type Job, type Json } from '../../domain/job.js';
import type { DependencyState } from '../../ports/dependencies.js';
import type { NewJob, Store } from '../../ports/store.js';

/**
 * The service's side of dependencies (docs/dependencies.md): turning a submit's `ref` and
 * `dependsOn` into edges between rows before the insert, and reading back, after it, the
 * dependents the store released at once. Resolution itself (release, cancel, transitively) is the
 * store's, in the transaction of each change.
 */
export class DependencyPlanner {
  constructor(private readonly store: Store) {}

  /**
   * Gives the rows of a submit their dependencies: refs become the ids of the rows they name,
   * ids are checked to be jobs of the tenant, and a job with dependencies starts `waiting`.
   * Throws ValidationError naming each bad field (`/2/dependsOn/0`), a cycle as `a → b → a`.
   * `inputs` are the submitted items, in the order of `rows`.
   */
  async attach(inputs: readonly unknown[], rows: { row: NewJob; payload: Json }[], tenant: string): Promise<void> {
    const many = inputs.length > 1;
    const pathOf = (i: number) => (many ? `/${i}` : '');
    const { plan, issues } = planDependencies(inputs, pathOf);
    if (!plan) return;
    const existing = plan.flatMap((p) => p?.existing ?? []);
    if (existing.length > 0) {
      const found = new Map((await this.store.dependencies.statesOf([...new Set(existing.map((e) => e.id))])).map((s) => [s.id, s.tenant]));
      for (const e of existing) {
        // Another tenant's job answers exactly like a missing one.
        if (found.get(e.id) !== tenant) issues.push({ path: e.path, message: `no job "${e.id}": name a ref of this request or the id of an existing job` });
      }
    }
    if (issues.length > 0) throw new ValidationError(issues);
    plan.forEach((p, i) => {
      if (!p) return;
      const row = rows[i]!.row;
      row.state = 'waiting';
      row.dependsOn = [...p.local.map((k) => rows[k]!.row.id), ...p.existing.map((e) => e.id)];
      row.onDependencyFailure = p.policy;
    });
  }

  /**
   * After the insert: the new dependents the store released at once (every dependency had already
   * succeeded) or cancelled (one had failed), with their state updated in `jobs`. Returns the
   * released ones for the dispatch index. No query when no job has dependencies.
   */
  async settledAtInsert(jobs: Job[]): Promise<DispatchEntry[]> {
    const waiting = jobs.filter((j) => j.state === 'waiting');
    if (waiting.length === 0) return [];
    const states = new Map((await this.store.dependencies.statesOf(waiting.map((j) => j.id))).map((s) => [s.id, s.state]));
    const released: DispatchEntry[] = [];
    for (const job of waiting) {
      const state = states.get(job.id);
      if (state === undefined || state === 'waiting') continue;
      job.state = state;
      job.stateReason = state === 'ready' ? 'dependencies_done' : 'upstream_failed';
      if (state === 'ready') released.push(toDispatchEntry(job));
    }
    return released;
  }

  dependenciesOf(jobId: string): Promise<{ policy: 'cancel' | 'continue'; dependencies: DependencyState[] } | null> {
    return this.store.dependencies.dependenciesOf(jobId);
  }

  dependentsOf(jobId: string) {
    return this.store.dependencies.dependentsOf(jobId);
  }
}
