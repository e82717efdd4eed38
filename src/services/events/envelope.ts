import { EVENT_SPEC_VERSION, type EncodedEvent, type EventEnvelope } from '../../ports/event-bus.js';
import type { LogEvent } from '../../ports/event-log.js';

/** What an event's type says it is about: `job-events` → `job` (so `docket.job.started`). */
function nounOf(topic: string): string {
  return topic.endsWith('-events') ? topic.slice(0, -'-events'.length) : topic;
}

/** Fields of the log that are for Docket's own delivery, never published. */
const PRIVATE_FIELDS = ['callbackUrl'];

/**
 * The published form of a logged event. The id is its position in the cluster's log, so a
 * republished event carries the same id, and `source` names the cluster (CloudEvents: source + id
 * is unique).
 */
export function envelopeOf(e: LogEvent, source: string): EventEnvelope {
  return {
    specversion: EVENT_SPEC_VERSION,
    id: String(e.pos),
    type: `docket.${nounOf(e.topic)}.${e.type}`,
    source,
    time: new Date(e.at).toISOString(),
    tenant: e.tenant,
    linkId: e.linkId,
    subject: e.key,
    data: publicData(e),
  };
}

function publicData(e: LogEvent): LogEvent['data'] {
  let data = e.data;
  if (PRIVATE_FIELDS.some((f) => f in data)) {
    data = { ...data };
    for (const f of PRIVATE_FIELDS) delete data[f];
  }
  return data;
}

const json = JSON.stringify;

/**
 * The event as the relay publishes it, on `<prefix><topic>`, keyed by its subject: the same text
 * as `encodeEnvelope(envelopeOf(e, source))` (test/event-envelope.test.ts), written field by field
 * without building the envelope object first (30% less time alone, ~7% less in the relay, where
 * the data's own encoding dominates). Logged events are valid envelopes by construction, so the
 * bus need not check them again (`EventBus.publishEncoded`).
 */
export function encodedOf(e: LogEvent, source: string, topicPrefix: string): EncodedEvent {
  const value =
    `{"specversion":"${EVENT_SPEC_VERSION}","id":"${e.pos}","type":${json(`docket.${nounOf(e.topic)}.${e.type}`)},` +
    `"source":${json(source)},"time":"${new Date(e.at).toISOString()}","tenant":${json(e.tenant)},` +
    `"linkId":${json(e.linkId)},"subject":${json(e.key)},"data":${json(publicData(e))}}`;
  return { topic: topicPrefix + e.topic, key: e.key, value };
}

