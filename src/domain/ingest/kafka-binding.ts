import { readCloudEvent, type CloudEvent } from './cloud-event.js';
import type { Issue } from '../errors.js';

/**
 * A Kafka record as a CloudEvent, by the CloudEvents Kafka protocol binding 1.0:
 * - binary mode (a `ce_specversion` header): attributes in `ce_<name>` headers, the record's
 *   `content-type` header is `datacontenttype`, the value is `data` (parsed when the content type
 *   is JSON or absent, else kept as text);
 * - structured mode (otherwise): the value is the whole event as JSON
 *   (`content-type: application/cloudevents+json`, or no header: Docket's own events).
 * Header names are matched case-insensitively; `ce_linkid` is Docket's `linkId`.
 */
export function cloudEventOfRecord(value: string | null, headers: ReadonlyMap<string, string>, receivedAt: string): { ok: true; event: CloudEvent } | { ok: false; issues: Issue[]; tenant: string | null } {
  const lower = new Map([...headers].map(([k, v]) => [k.toLowerCase(), v]));
  if (lower.has('ce_specversion')) {
    const { attributes, problems } = binaryAttributes(value, lower);
    const read = readCloudEvent(attributes, { receivedAt });
    if (problems.length === 0) return read;
    return { ok: false, issues: [...problems, ...(read.ok ? [] : read.issues)], tenant: read.ok ? read.event.tenant : read.tenant };
  }
  if (value === null) return { ok: false, issues: [{ path: '', message: 'the record has no value (and no ce_specversion header: not a binary-mode event either)' }], tenant: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `the value is not JSON (${(err as Error).message}) and the record has no ce_specversion header: neither a structured- nor a binary-mode CloudEvent` }], tenant: null };
  }
  return readCloudEvent(parsed, { receivedAt });
}

/** Binary mode: the event's attributes from the headers, its data from the value. */
function binaryAttributes(value: string | null, headers: Map<string, string>): { attributes: Record<string, unknown>; problems: Issue[] } {
  const event: Record<string, unknown> = {};
  const problems: Issue[] = [];
  for (const [name, text] of headers) {
    if (!name.startsWith('ce_')) continue;
    const attribute = name.slice(3);
    event[attribute === 'linkid' ? 'linkId' : attribute] = text;
  }
  const contentType = headers.get('content-type');
  if (contentType !== undefined) event.datacontenttype = contentType;
  if (value === null) event.data = null;
  else if (contentType === undefined || /^application\/(.+\+)?json\b/i.test(contentType) || /^text\/json\b/i.test(contentType)) {
    try {
      event.data = JSON.parse(value);
    } catch (err) {
      problems.push({ path: '/data', message: `the value is not JSON (${(err as Error).message}) though its content type is ${contentType ?? 'not set (JSON is assumed)'}` });
    }
  } else event.data = value;
  return { attributes: event, problems };
}
