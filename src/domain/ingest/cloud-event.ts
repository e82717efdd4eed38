import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { Issue } from '../errors.js';
import { NAME_PATTERN } from '../job-input.js'; // also registers the date-time format
import type { Json } from '../job.js';

/**
 * An event as both entrances take it (POST /v1/events and the Kafka consumer), CloudEvents 1.0:
 * `specversion`, `id`, `source` and `type` required; `time`, `subject`, `datacontenttype`,
 * `dataschema`, `data` and extension attributes optional. Docket's own extensions are optional
 * too: `tenant` (over HTTP the caller's; on Kafka it must be named, see readCloudEvent) and
 * `linkId` (the jobs' linkId; default the event id).
 */
export const CloudEventSchema = Type.Object(
  {
    specversion: Type.Literal('1.0', { description: 'the CloudEvents version: "1.0"' }),
    id: Type.String({ minLength: 1, maxLength: 256, description: 'unique per event from its source; a retry sends the same id' }),
    source: Type.String({ minLength: 1, maxLength: 1024, description: 'who emitted it, a URI reference, e.g. urn:acme:shop' }),
    type: Type.String({ minLength: 1, maxLength: 256, description: 'e.g. com.acme.order.paid' }),
    time: Type.Optional(Type.String({ format: 'date-time', description: 'RFC 3339; default: when it is received' })),
    subject: Type.Optional(Type.String({ maxLength: 1024 })),
    datacontenttype: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'e.g. application/json' })),
    dataschema: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'URI of the schema data adheres to' })),
    tenant: Type.Optional(Type.String({ pattern: NAME_PATTERN, description: 'Docket extension: the tenant whose jobs the event makes' })),
    linkId: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()], { description: "Docket extension: the jobs' linkId; default the event id" })),
    data: Type.Optional(Type.Unknown({ description: 'the event itself: any JSON' })),
  },
  { additionalProperties: true },
);

const check = TypeCompiler.Compile(CloudEventSchema);

/** A CloudEvent checked and completed: every core attribute Docket's envelope has, set. */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  tenant: string;
  linkId: string | null;
  subject?: string;
  data: Json;
  [extension: string]: unknown;
}

export interface ReadOptions {
  /** `time` when the event has none (RFC 3339): when it was received. */
  receivedAt: string;
  /** The tenant the event is for when the entrance decides (HTTP: the caller's, after checking a named one); else the event must name one. */
  tenant?: string;
}

export type ReadResult = { ok: true; event: CloudEvent } | { ok: false; issues: Issue[]; tenant: string | null };

/**
 * Checks `input` as a CloudEvent and completes it (`time`, `tenant`, `linkId`, `data`), or names
 * every problem at once. The one check of both entrances, so an event one takes the other takes.
 */
export function readCloudEvent(input: unknown, options: ReadOptions): ReadResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ path: '', message: 'must be a JSON object (a CloudEvent)' }], tenant: null };
  }
  const r = input as Record<string, unknown>;
  const issues = issuesOf([...check.Errors(r)]);
  const named = typeof r.tenant === 'string' && r.tenant.length > 0 ? r.tenant : null;
  if (options.tenant === undefined && r.tenant === undefined) {
    issues.push({ path: '/tenant', message: 'required here: the tenant whose jobs the event makes (a Docket extension attribute; Kafka binary mode: the ce_tenant header)' });
  }
  if (issues.length > 0) return { ok: false, issues, tenant: named };
  const event = { ...r } as Record<string, unknown>;
  event.time = r.time ?? options.receivedAt;
  event.tenant = options.tenant ?? named; // the entrance that decides has checked a named one
  event.linkId = r.linkId ?? null;
  event.data = (r.data ?? null) as Json;
  return { ok: true, event: event as CloudEvent };
}

/** One issue per field, worded for the person who produced the event. */
function issuesOf(errors: ValueError[]): Issue[] {
  const byPath = new Map<string, string>();
  for (const e of errors) {
    if (byPath.has(e.path)) continue; // several rules on one field: the first says enough
    byPath.set(e.path, explain(e));
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}

function explain(e: ValueError): string {
  const got = e.value === undefined ? '' : ` (got ${(JSON.stringify(e.value) ?? String(e.value)).slice(0, 80)})`;
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'required (a CloudEvents 1.0 attribute)';
    case ValueErrorType.Literal:
      return `must be "1.0"${got}`;
    case ValueErrorType.StringFormat:
      return `must be an RFC 3339 timestamp, e.g. 2026-01-31T09:00:00Z${got}`;
    case ValueErrorType.StringMinLength:
      return 'must not be empty';
    case ValueErrorType.StringPattern:
      return `"${String(e.value)}" is not a valid tenant name (letters, digits and _ . : -, up to 128, starting with a letter or digit)`;
    case ValueErrorType.Union:
      return `must be a string of 1-128 characters or null${got}`;
    default:
      return `${e.message}${got}`;
  }
}
