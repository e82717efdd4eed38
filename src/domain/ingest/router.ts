import type { EventEnvelope } from '../../ports/event-bus.js';
import type { Json } from '../job.js';
import { lookup, show } from './field-path.js';
import type { MatchClause, Rule } from './rules.js';

/** Why a rule did not take an event: its first condition that failed. */
export interface Miss {
  rule: string;
  /** The field the condition is on, dotted (`data.order.total`). */
  path: string;
  reason: string;
}

export interface Routing {
  /** Every rule whose conditions all hold, in config order. */
  matched: Rule[];
  /** For the others, why not: goes with a dead-lettered event so its sender can see what to fix. */
  misses: Miss[];
}

/**
 * The router (seed 000): which rules take an event. Several may; each then creates its own jobs.
 * A rule takes an event when every one of its conditions holds (a rule without conditions takes
 * every event).
 */
export function route(event: EventEnvelope, rules: readonly Rule[]): Routing {
  const matched: Rule[] = [];
  const misses: Miss[] = [];
  for (const rule of rules) {
    const miss = firstMiss(event, rule.match);
    if (miss === null) matched.push(rule);
    else misses.push({ rule: rule.name, ...miss });
  }
  return { matched, misses };
}

function firstMiss(event: EventEnvelope, clauses: readonly MatchClause[]): { path: string; reason: string } | null {
  for (const { path, condition } of clauses) {
    const found = lookup(event, path);
    const reason = ((): string | null => {
      switch (condition.op) {
        case 'exists':
          if (found.found === condition.exists) return null;
          return found.found ? `is present (${show(found.value)}) but must be absent` : 'is missing';
        case 'equals':
          if (!found.found) return `is missing; wanted ${show(condition.value)}`;
          return jsonEqual(found.value, condition.value) ? null : `is ${show(found.value)}, wanted ${show(condition.value)}`;
        case 'oneOf':
          if (!found.found) return `is missing; wanted one of ${show(condition.values)}`;
          return condition.values.some((v) => jsonEqual(found.value, v)) ? null : `is ${show(found.value)}, wanted one of ${show(condition.values)}`;
        case 'regex':
          if (!found.found) return `is missing; wanted a match of /${condition.regex.source}/`;
          if (typeof found.value !== 'string') return `is ${show(found.value)}, not a string to match /${condition.regex.source}/`;
          return condition.regex.test(found.value) ? null : `is ${show(found.value)}, which does not match /${condition.regex.source}/`;
      }
    })();
    if (reason !== null) return { path: path.text, reason };
  }
  return null;
}

/** Structural equality of JSON values (object key order does not matter). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]!));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k]!, b[k]!));
}
