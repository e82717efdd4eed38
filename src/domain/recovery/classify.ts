/**
 * Error classification: what a failed attempt means for its job.
 * - permanent: no further attempt, the job fails (dead letter);
 * - retryable: the job's own retry policy (backoff, attempts);
 * - transient: a shared condition (a downstream service down) is to blame; the job parks under it
 *   and the recovery policy decides when it runs again.
 */
export type FailureKind = 'permanent' | 'retryable' | 'transient';

export interface Outcome {
  kind: FailureKind;
  /** For transient: the condition key, e.g. `service:payments-api`. */
  condition?: string;
}

/** What a worker reported. */
export interface ReportedFailure {
  message: string;
  code?: string;
  /** The error's class (`TypeError`, `ConnectionRefusedError`), for the classification rules. */
  name?: string;
  /** false for a permanent error: no further attempt. @defaultValue true */
  retryable?: boolean;
  /** A transient failure: park the job under this recovery condition. */
  condition?: string;
}

/** A configured rule: the first whose `match` fits decides. */
export interface ClassifyRule {
  match: { code?: string; name?: string; message?: string };
  outcome: FailureKind;
  /**
   * For transient: the condition key. `{code}`, `{name}`, `{queue}`, `{type}` are replaced by the
   * failure's and job's values, `$1`..`$9` by the groups of the message pattern.
   */
  condition?: string;
}

export interface CompiledRule extends ClassifyRule {
  pattern: RegExp | null;
}

export function compileRules(rules: readonly ClassifyRule[]): CompiledRule[] {
  return rules.map((r) => ({ ...r, pattern: r.match.message !== undefined ? new RegExp(r.match.message) : null }));
}

/**
 * Decides the outcome: what the worker said explicitly wins (retryable: false, a condition), then
 * the first matching rule, else the job's retry policy.
 */
export function classify(failure: ReportedFailure, job: { queue: string; type: string }, rules: readonly CompiledRule[]): Outcome {
  if (failure.retryable === false) return { kind: 'permanent' };
  if (failure.condition) return { kind: 'transient', condition: failure.condition };
  for (const rule of rules) {
    if (rule.match.code !== undefined && rule.match.code !== failure.code) continue;
    if (rule.match.name !== undefined && rule.match.name !== failure.name) continue;
    const groups = rule.pattern ? rule.pattern.exec(failure.message) : [];
    if (!groups) continue;
    if (rule.outcome !== 'transient') return { kind: rule.outcome };
    const condition = (rule.condition ?? 'error:{code}')
      .replace(/\{(code|name|queue|type)\}/g, (_, k: string) => ({ code: failure.code, name: failure.name, queue: job.queue, type: job.type })[k] ?? 'unknown')
      .replace(/\$(\d)/g, (_, n: string) => groups[Number(n)] ?? '');
    return { kind: 'transient', condition };
  }
  return { kind: 'retryable' };
}
