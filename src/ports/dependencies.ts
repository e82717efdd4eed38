import type { DependencyFailurePolicy } from '../domain/dag.js';
import type { DispatchEntry, JobError, Json } from '../domain/job.js';
import type { JobState } from '../domain/states.js';

/** One dependency of a job as its dependent (and its handler) sees it. */
export interface DependencyState {
  id: string;
  /** null when the dependency was deleted since (retention): it counted as done. */
  type: string | null;
  state: JobState | null;
  /** The dependency's result, once it succeeded. */
  result: Json | undefined;
  /** The last error, when it failed. */
  error: JobError | null;
  finishedAt: number | null;
}

export interface JobDependencies {
  /** The policy and dependencies of a job (in id order), or null when it has none. */
  dependenciesOf(jobId: string): Promise<{ policy: DependencyFailurePolicy; dependencies: DependencyState[] } | null>;
  /** Jobs that wait (or waited) for this one, in id order. */
  dependentsOf(jobId: string): Promise<{ id: string; state: JobState }[]>;
  /** Tenant and state of those of `ids` that exist (submit checks dependsOn with it). */
  statesOf(ids: readonly string[]): Promise<{ id: string; tenant: string; state: JobState }[]>;
  /**
   * Calls `listener` with the jobs that dependency resolution moved from waiting to ready, after
   * the transaction that moved them commits and before the store call that caused it returns:
   * the service pushes them to the dispatch index like any new ready job. The store resolves
   * dependents itself, in the transaction of the change that settles their last dependency
   * (completion, failure, cancel, expiry, or the insert, for dependencies already done).
   */
  onReleased(listener: (entries: DispatchEntry[]) => Promise<void> | void): () => void;
}

/** The listeners of onReleased, for adapters. */
export class ReleaseListeners {
  private listeners: ((entries: DispatchEntry[]) => Promise<void> | void)[] = [];

  add(listener: (entries: DispatchEntry[]) => Promise<void> | void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Tells every listener; a listener's failure does not undo the committed release (the dispatch repair loop re-adds missing jobs). */
  async notify(entries: readonly DispatchEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const unique = [...new Map(entries.map((e) => [e.id, e])).values()];
    for (const l of this.listeners) await Promise.resolve(l(unique)).catch(() => {});
  }
}
