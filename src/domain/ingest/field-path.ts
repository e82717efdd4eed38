import type { EventEnvelope } from '../../ports/event-bus.js';
import type { Json } from '../job.js';

/**
 * Field paths of ingest rules: how a rule names a part of an incoming event. Dotted, rooted at an
 * envelope attribute: `type`, `source`, `tenant`, `data.order.id`, `data.lines.0.sku` (a whole
 * number indexes an array). Written in config as text, parsed once at start.
 */
export const ROOT_FIELDS = ['id', 'type', 'source', 'time', 'tenant', 'linkId', 'subject', 'data'] as const;

export interface FieldPath {
  /** As written in the config, e.g. `data.order.id`. */
  text: string;
  segments: readonly string[];
}

/** What is wrong with `text` as a field path, or null. */
export function pathProblem(text: string): string | null {
  if (text === '') return 'is empty; write an envelope field such as "type" or "data.order.id"';
  const segments = text.split('.');
  if (segments.some((s) => s === '')) return `path "${text}" has an empty segment (two dots, or a dot at an end)`;
  const root = segments[0]!;
  if (!(ROOT_FIELDS as readonly string[]).includes(root)) return `path "${text}" must start with one of ${ROOT_FIELDS.join(', ')}`;
  if (root !== 'data' && segments.length > 1) return `path "${text}": only "data" has fields below it`;
  return null;
}

/** Parses a path already checked by `pathProblem`. */
export function parsePath(text: string): FieldPath {
  return { text, segments: text.split('.') };
}

export type Lookup = { found: true; value: Json } | { found: false; missing: string };

/**
 * The value at `path` in `event`. When absent, `missing` is the first segment that is not there,
 * as a dotted path (`data.order` when `data.order.id` was asked and data has no `order`).
 */
export function lookup(event: EventEnvelope, path: FieldPath): Lookup {
  let current: unknown = event;
  for (let i = 0; i < path.segments.length; i++) {
    const segment = path.segments[i]!;
    const next = child(current, segment);
    if (next === undefined) return { found: false, missing: path.segments.slice(0, i + 1).join('.') };
    current = next;
  }
  return { found: true, value: current as Json };
}

function child(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) return /^\d+$/.test(segment) ? value[Number(segment)] : undefined;
  if (typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, segment)) return (value as Record<string, unknown>)[segment];
  return undefined;
}

/** The path as a JSON pointer into the event (`data.order.id` → `/data/order/id`), for problem+json. */
export function pointerOf(dotted: string): string {
  return `/${dotted.split('.').map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

/** A short JSON rendering of a value for messages. */
export function show(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
