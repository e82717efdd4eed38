import { EVENT_SPEC_VERSION, type EventEnvelope, type OutgoingEvent } from '../../ports/event-bus.js';
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
  let data = e.data;
  if (PRIVATE_FIELDS.some((f) => f in data)) {
    data = { ...data };
    for (const f of PRIVATE_FIELDS) delete data[f];
  }
  return {
    specversion: EVENT_SPEC_VERSION,
    id: String(e.pos),
    type: `docket.${nounOf(e.topic)}.${e.type}`,
    source,
    time: new Date(e.at).toISOString(),
    tenant: e.tenant,
    linkId: e.linkId,
    subject: e.key,
    data,
  };
}

/** The event as sent to the bus: on `<prefix><topic>`, keyed by its subject. */
export function outgoingOf(e: LogEvent, source: string, topicPrefix: string): OutgoingEvent {
  return { topic: topicPrefix + e.topic, key: e.key, event: envelopeOf(e, source) };
}
