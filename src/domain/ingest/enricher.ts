import { createHash } from 'node:crypto';
import type { EventEnvelope } from '../../ports/event-bus.js';
import { DocketError, PayloadTooLargeError, ValidationError, type Issue } from '../errors.js';
import { DEFAULT_INPUT_LIMITS, NAME_PATTERN, toJobSpec, type InputLimits } from '../job-input.js';
import type { Json } from '../job.js';
import { lookup, pointerOf, show, type FieldPath } from './field-path.js';
import type { JobRule, PayloadMap, Rule } from './rules.js';

/** A job an event creates, validated and ready to submit. */
export interface PlannedJob {
  rule: string;
  /** Its index in the rule's `jobs`. */
  index: number;
  /** A job input as POST /v1/jobs takes it. */
  input: Record<string, Json>;
  /**
   * The idempotency key it is submitted with: from (rule, index, dedup key), the dedup key being
   * the values of the rule's `dedup` fields, or the event's source and id. The same event
   * delivered again, or another event with the same dedup values, makes the same key: no new job.
   */
  idempotencyKey: string;
}

/** The event breaks a rule that matched it; `issues` name the event's fields (JSON pointers). */
export class EventRuleError extends DocketError {
  constructor(readonly issues: Issue[]) {
    super('event_rule_broken', issues.map((i) => `${i.path || '/'}: ${i.message}`).join('; '));
  }
}

/** Label every ingested job carries (unless the rule sets it): `GET /v1/jobs?label=ingest-rule=<name>`. */
export const RULE_LABEL = 'ingest-rule';
const TENANT = new RegExp(NAME_PATTERN);
/** A time with its zone: without one, Date.parse reads local time, and the due time would depend on the server's zone. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i;

/**
 * The enricher (seed 000): the jobs that the matched rules make of `event`, all of them or none.
 * Every job is validated here as the API would (the job schema, `limits`), so a broken one is
 * reported before any job of the event is created. Throws EventRuleError naming every problem.
 */
export function plan(event: EventEnvelope, matched: readonly Rule[], now: number, limits: InputLimits = DEFAULT_INPUT_LIMITS): PlannedJob[] {
  const issues: Issue[] = [];
  if (!TENANT.test(event.tenant)) issues.push({ path: '/tenant', message: `${show(event.tenant)} is not a tenant name (letters, digits and _ . : -, up to 128)` });
  const planned: PlannedJob[] = [];
  for (const rule of matched) {
    for (const jobRule of rule.jobs) {
      const job = enrich(event, rule, jobRule, now, limits, issues);
      if (job) planned.push(job);
    }
  }
  if (issues.length > 0) throw new EventRuleError(issues);
  return planned;
}

function enrich(event: EventEnvelope, rule: Rule, jr: JobRule, now: number, limits: InputLimits, issues: Issue[]): PlannedJob | null {
  const where = `rule "${rule.name}" jobs[${jr.index}]`;
  const before = issues.length;
  const need = (path: FieldPath, what: string): Json | undefined => {
    const got = lookup(event, path);
    if (got.found) return got.value;
    const detail = got.missing === path.text ? '' : ` (${got.missing} is not there)`;
    issues.push({ path: pointerOf(path.text), message: `is missing${detail}; ${where} needs it for ${what}` });
    return undefined;
  };

  const payload = build(event, jr.payload, 'payload', need);
  let due = now + (jr.delaySeconds ?? 0) * 1000;
  if (jr.runAtFrom) {
    const value = need(jr.runAtFrom, 'runAtFrom');
    if (value !== undefined) {
      const t = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : NaN;
      if (Number.isNaN(t)) issues.push({ path: pointerOf(jr.runAtFrom.text), message: `is ${show(value)}, not an RFC 3339 time with a zone (e.g. 2026-01-31T09:00:00Z); ${where} takes its due time from it` });
      else due = t;
    }
  }
  const dedupValues = jr.dedup?.map((p) => need(p, 'its dedup key'));
  if (issues.length > before) return null;

  const input: Record<string, Json> = { ...jr.fixed, payload: payload ?? {} };
  const labels = { ...((jr.fixed.labels as Record<string, string> | undefined) ?? {}) };
  if (!(RULE_LABEL in labels) && Object.keys(labels).length < 32) labels[RULE_LABEL] = rule.name;
  input.labels = labels;
  if (due !== now) input.runAt = new Date(due).toISOString();
  if (jr.expiresInSeconds !== null) input.expiresAt = new Date(Math.max(due, now) + Math.round(jr.expiresInSeconds * 1000)).toISOString();
  input.linkId = event.linkId ?? event.id;

  try {
    toJobSpec(input, now, limits);
  } catch (err) {
    if (err instanceof ValidationError) {
      for (const i of err.issues) issues.push({ path: eventPathOf(i.path, jr, event), message: `${where} makes a job that is not valid: ${i.path}: ${i.message}` });
      return null;
    }
    if (err instanceof PayloadTooLargeError) {
      issues.push({ path: eventPathOf('/payload', jr, event), message: `${where}: ${err.message}` });
      return null;
    }
    throw err;
  }
  const dedup: Json = dedupValues ? ['fields', ...(dedupValues as Json[])] : ['event', event.source, event.id];
  return { rule: rule.name, index: jr.index, input, idempotencyKey: idempotencyKey(rule.name, jr.index, dedup) };
}

/**
 * The payload from its mapping; `need` records what is missing. A field mapped with a trailing `?`
 * is left out when the event lacks it.
 */
function build(event: EventEnvelope, map: PayloadMap, at: string, need: (path: FieldPath, what: string) => Json | undefined): Json | undefined {
  if (map.kind === 'path') {
    if (!map.optional) return need(map.path, at);
    const got = lookup(event, map.path);
    return got.found ? got.value : undefined;
  }
  const out: Record<string, Json> = {};
  for (const [name, sub] of map.fields) {
    const value = build(event, sub, `${at}.${name}`, need);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Where in the event a job-validation problem comes from, as far as the rule says. */
function eventPathOf(jobPath: string, jr: JobRule, event: EventEnvelope): string {
  if (jobPath === '/linkId') return event.linkId !== null ? '/linkId' : '/id';
  if (jobPath.startsWith('/payload')) return jr.payload.kind === 'path' ? pointerOf(jr.payload.path.text) : '/data';
  if ((jobPath === '/runAt' || jobPath === '/expiresAt') && jr.runAtFrom) return pointerOf(jr.runAtFrom.text);
  return '';
}

/** `ingest:<sha256>`: bounded length whatever the dedup values, and apart from clients' own keys. */
export function idempotencyKey(rule: string, index: number, dedup: Json): string {
  return `ingest:${createHash('sha256').update(JSON.stringify([rule, index, dedup])).digest('hex')}`;
}
