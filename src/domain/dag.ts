import { Type } from '@sinclair/typebox';
import type { Issue } from './errors.js';

/**
 * Dependencies between jobs (docs/dependencies.md): the submit fields, and the planning of one
 * request's graph. A job names what it waits for in `dependsOn`: a `ref` of another job of the same
 * request, or the id of an existing job of the same tenant. Planning is pure: it resolves refs to
 * request indexes and rejects cycles (naming them), before anything is written.
 */

/** What a dependent does when one of its dependencies fails, is cancelled or expires. */
export type DependencyFailurePolicy = 'cancel' | 'continue';
export const DEFAULT_DEPENDENCY_POLICY: DependencyFailurePolicy = 'cancel';

/** The most dependencies one job may name (a fan-in of 1000 map jobs into one reduce job fits). */
export const MAX_DEPENDENCIES = 1000;

/** NAME_PATTERN of job-input.ts, repeated: that module imports this one. */
const REF_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';

/** Spread into the job input schema (domain/job-input.ts), so HTTP, SDK and CLI all accept them. */
export const DependencyFields = {
  ref: Type.Optional(
    Type.String({ pattern: REF_PATTERN, description: 'a name for this job, local to the request: other jobs of the same request name it in dependsOn' }),
  ),
  dependsOn: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
      maxItems: MAX_DEPENDENCIES,
      description: 'jobs to wait for: refs of jobs of the same request, or ids of existing jobs of your tenant; the job waits in state "waiting" until all succeed',
    }),
  ),
  onDependencyFailure: Type.Optional(
    Type.Union([Type.Literal('cancel'), Type.Literal('continue')], {
      description: 'when a dependency fails, is cancelled or expires: "cancel" this job (default; reason upstream_failed, and its own dependents after it) or "continue" as if it had succeeded',
    }),
  ),
};

/** One job's dependencies, resolved: jobs of the same request by index, existing jobs by id. */
export interface PlannedDependencies {
  /** Indexes of jobs of the same request. */
  local: number[];
  /** Ids of existing jobs (to be checked against the store: they must exist in the same tenant). */
  existing: { id: string; path: string }[];
  policy: DependencyFailurePolicy;
}

/** The request's graph: one entry per input, null for jobs without dependencies. */
export type DependencyPlan = (PlannedDependencies | null)[];

type Raw = { ref?: unknown; dependsOn?: unknown; onDependencyFailure?: unknown; runAt?: unknown; delayMs?: unknown };

/**
 * Resolves refs and rejects cycles. `pathOf(i)` is the JSON pointer prefix of input i (`/3` in a
 * bulk, `` for one job). Returns null when no input has dependencies (the common case costs a scan).
 * Issues name the field: a duplicate ref, a dependency named twice, a cycle (`a → b → a`), a
 * dependent with a start time (it starts when its dependencies are done).
 */
export function planDependencies(inputs: readonly unknown[], pathOf: (i: number) => string): { plan: DependencyPlan | null; issues: Issue[] } {
  const raws = inputs.map((i) => (typeof i === 'object' && i !== null ? (i as Raw) : {}));
  if (!raws.some((r) => Array.isArray(r.dependsOn) && r.dependsOn.length > 0)) return { plan: null, issues: [] };
  const issues: Issue[] = [];
  const byRef = new Map<string, number>();
  raws.forEach((r, i) => {
    if (typeof r.ref !== 'string') return;
    const first = byRef.get(r.ref);
    if (first !== undefined) issues.push({ path: `${pathOf(i)}/ref`, message: `"${r.ref}" is already the ref of the job at ${pathOf(first) || '/'}` });
    else byRef.set(r.ref, i);
  });
  const plan: DependencyPlan = raws.map((r, i) => {
    if (!Array.isArray(r.dependsOn) || r.dependsOn.length === 0) return null;
    for (const field of ['runAt', 'delayMs'] as const) {
      if (r[field] !== undefined) issues.push({ path: `${pathOf(i)}/${field}`, message: 'a job with dependsOn starts when its dependencies are done: leave runAt and delayMs out' });
    }
    const local: number[] = [];
    const existing: { id: string; path: string }[] = [];
    const seen = new Set<string>();
    r.dependsOn.forEach((entry: unknown, k: number) => {
      if (typeof entry !== 'string') return; // the schema names it
      const path = `${pathOf(i)}/dependsOn/${k}`;
      if (seen.has(entry)) return void issues.push({ path, message: `"${entry}" is named twice` });
      seen.add(entry);
      const index = byRef.get(entry);
      if (index !== undefined) local.push(index);
      else existing.push({ id: entry, path });
    });
    const policy = r.onDependencyFailure === 'continue' ? 'continue' : DEFAULT_DEPENDENCY_POLICY;
    return { local, existing, policy };
  });
  const cycle = findCycle(plan);
  if (cycle) {
    // Every job of a cycle has a ref: an edge only reaches a job through its ref.
    const names = cycle.map((i) => raws[i]!.ref as string);
    const first = cycle[0]!;
    const k = (raws[first]!.dependsOn as unknown[]).indexOf(raws[cycle[1]!]!.ref);
    issues.push({ path: `${pathOf(first)}/dependsOn/${Math.max(0, k)}`, message: `dependency cycle: ${names.join(' → ')}` });
  }
  return { plan, issues };
}

/**
 * A cycle among the request's jobs, as indexes from a job back to itself (`[a, b, c, a]`: a waits
 * for b, b for c, c for a), or null. Existing jobs cannot close a cycle: they cannot wait for jobs
 * created after them. Iterative depth-first search (a deep chain must not overflow the stack).
 */
export function findCycle(plan: DependencyPlan): number[] | null {
  const WHITE = 0;
  const GREY = 1;
  const BLACK = 2;
  const color = new Uint8Array(plan.length);
  for (let start = 0; start < plan.length; start++) {
    if (color[start] !== WHITE) continue;
    const path: number[] = [start];
    const next: number[] = [0];
    color[start] = GREY;
    while (path.length > 0) {
      const node = path[path.length - 1]!;
      const edges = plan[node]?.local ?? [];
      const k = next[next.length - 1]!;
      if (k >= edges.length) {
        color[node] = BLACK;
        path.pop();
        next.pop();
        continue;
      }
      next[next.length - 1] = k + 1;
      const to = edges[k]!;
      if (color[to] === GREY) return [...path.slice(path.indexOf(to)), to];
      if (color[to] === WHITE) {
        color[to] = GREY;
        path.push(to);
        next.push(0);
      }
    }
  }
  return null;
}
