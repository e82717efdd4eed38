import { createHash } from 'node:crypto';
import type { Json } from './job.js';
import type { JobSpec } from './job-input.js';

/**
 * Job deduplication (docs/jobs.md#deduplication): a job that carries a dedup key is not created
 * while another job of its tenant holds that key; the submit gets the existing job back instead.
 * A key comes from the job's own `dedupKey`, or from a rule of the configuration file that names,
 * per job type (and optionally queue), the fields whose values form it.
 */

/** What a job's key is computed from: its validated fields (JobSpec has them all). */
export type DedupSubject = Pick<JobSpec, 'type' | 'queue' | 'payload' | 'labels' | 'priority' | 'dedupKey' | 'dedupTtlSeconds'>;

/** A key is held this long when neither the job (`dedupTtlSeconds`) nor a rule says. */
export const DEFAULT_DEDUP_TTL_SECONDS = 86_400;
/** Longest window a key may be held: 30 days. */
export const MAX_DEDUP_TTL_SECONDS = 2_592_000;

/** A rule of the configuration file's `dedup` section, checked (config/sections/dedup.ts). */
export interface DedupRule {
  type: string;
  /** Only jobs of this queue; absent: any queue. */
  queue?: string;
  /** Field paths of the job: `payload.<path>`, `labels.<name>`, `queue` or `priority`. */
  fields: string[];
  ttlSeconds: number;
}

/** The key a job is submitted under, and until when it holds it. */
export interface DedupClaim {
  key: string;
  expiresAt: number;
}

/** The roots a rule's field path may start from: the parts of a job that say what it does. */
export const FIELD_ROOTS = ['payload', 'labels', 'queue', 'priority'] as const;

/** Why a rule's field path is unusable, or null when it is fine. */
export function fieldPathProblem(path: string): string | null {
  const [root, ...rest] = path.split('.');
  if (!(FIELD_ROOTS as readonly string[]).includes(root!)) return `"${path}" must start with payload. or labels., or be queue or priority`;
  if ((root === 'queue' || root === 'priority') && rest.length > 0) return `"${path}": ${root} has no fields below it`;
  if ((root === 'payload' || root === 'labels') && rest.length === 0) return `"${path}": name a field below ${root}, e.g. ${root}.id`;
  if (rest.some((s) => s === '')) return `"${path}" has an empty segment`;
  return null;
}

/**
 * The rule that covers a job: one naming its queue wins over one for any queue; among equals the
 * first in the file.
 */
export function ruleFor(rules: readonly DedupRule[], type: string, queue: string): DedupRule | undefined {
  return rules.find((r) => r.type === type && r.queue === queue) ?? rules.find((r) => r.type === type && r.queue === undefined);
}

/**
 * The claim a job makes, or null when it makes none (the hot path: no rule for its type and no
 * `dedupKey`). The job's own key wins over a rule; its TTL is `dedupTtlSeconds`, else the rule's
 * for its type, else the default. Keys are SHA-256 hashes (bounded length, whatever the values),
 * prefixed by where they come from, and include the job type: the same values for another type
 * are another key. The tenant is the other half of the stored key.
 */
export function dedupClaimOf(spec: DedupSubject, rules: readonly DedupRule[], now: number): DedupClaim | null {
  const rule = rules.length === 0 ? undefined : ruleFor(rules, spec.type, spec.queue);
  if (spec.dedupKey !== null) {
    const ttl = spec.dedupTtlSeconds ?? rule?.ttlSeconds ?? DEFAULT_DEDUP_TTL_SECONDS;
    return { key: `job:${sha256(canonicalJson(['job', spec.type, spec.dedupKey]))}`, expiresAt: now + ttl * 1000 };
  }
  if (!rule) return null;
  const values = rule.fields.map((f) => valueAt(spec, f));
  const identity = ['rule', spec.type, rule.queue ?? null, rule.fields, values] as Json;
  return { key: `rule:${sha256(canonicalJson(identity))}`, expiresAt: now + rule.ttlSeconds * 1000 };
}

/** A field's value in the job; a missing one counts as null (so jobs that both lack it match). */
function valueAt(spec: DedupSubject, path: string): Json {
  const [root, ...rest] = path.split('.');
  let value: unknown = root === 'payload' ? spec.payload : root === 'labels' ? spec.labels : root === 'queue' ? spec.queue : spec.priority;
  for (const segment of rest) {
    if (typeof value !== 'object' || value === null) return null;
    value = Array.isArray(value) && /^\d+$/.test(segment) ? value[Number(segment)] : (value as Record<string, unknown>)[segment];
  }
  return value === undefined ? null : (value as Json);
}

/** JSON with object keys sorted at every level: equal values give equal text whatever the key order. */
export function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, Json>)[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * States of a job that keep holding its key: it is doing, will do or did its work. A job that
 * failed, was cancelled or expired did not, so a new submit takes its key over (as Oban's default
 * `:successful` unique states do).
 */
export const HOLDING_STATES: ReadonlySet<string> = new Set(['scheduled', 'waiting', 'ready', 'running', 'retrying', 'blocked', 'succeeded']);

/** Whether a stored key still holds at `now`: unexpired, and its job in a holding state. */
export function keyHolds(expiresAt: number, state: string | null | undefined, now: number): boolean {
  return expiresAt > now && state != null && HOLDING_STATES.has(state);
}

/**
 * Jobs of a submit that depend on a job of the same submit that was not created (a duplicate)
 * depend on the job that answered for it instead: `moved` maps the id each duplicate would have
 * had to the holder's id. Returns the jobs, copied only where something changed.
 */
export function redirectDependencies<J extends { dependsOn?: readonly string[] }>(jobs: readonly J[], moved: ReadonlyMap<string, string>): J[] {
  if (moved.size === 0) return [...jobs];
  return jobs.map((j) => (j.dependsOn?.some((d) => moved.has(d)) ? { ...j, dependsOn: j.dependsOn.map((d) => moved.get(d) ?? d) } : j));
}
