import type { Issue } from '../../domain/errors.js';
import type { Json } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import { createEvent, type EventEnvelope, type OutgoingEvent } from '../../ports/event-bus.js';

/** The envelope type of a dead letter (docs/ingestion.md shows one). */
export const DEAD_LETTER_TYPE = 'docket.ingest.dead-letter';

export type DeadLetterReason = 'no-match' | 'rule-broken' | 'invalid-record';

/** Where the record came from and why it could not become jobs. */
export interface DeadLetter {
  reason: DeadLetterReason;
  /** One readable sentence (the error message). */
  detail: string;
  /** Per field of the event (JSON pointer), when known. */
  errors: Issue[];
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The tenant the record named (an invalid record may name one); null when it named none. */
  tenant: string | null;
  /** The event as received; null for an invalid record. */
  event: EventEnvelope | null;
  /** An invalid record's raw value (cut at MAX_RAW_CHARS); null otherwise. */
  value: string | null;
  /** An invalid record's headers (a binary-mode event's attributes are there). */
  headers?: Record<string, string>;
}

/** A raw value is cut here so that the dead letter stays under Kafka's default 1 MB message limit. */
export const MAX_RAW_CHARS = 256 * 1024;

/**
 * The dead letter as an event on `topic`: CloudEvents-style like every Docket event, `data` holding
 * the reason, the original and its coordinates, keyed like the original so that one key's dead
 * letters stay in order.
 */
export function deadLetterEvent(letter: DeadLetter, topic: string, source: string, clock: Clock): OutgoingEvent {
  const value = letter.value === null || letter.value.length <= MAX_RAW_CHARS ? letter.value : letter.value.slice(0, MAX_RAW_CHARS);
  const data: { [k: string]: Json } = {
    reason: letter.reason,
    detail: letter.detail,
    errors: letter.errors.map((e) => ({ path: e.path, message: e.message })),
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    key: letter.key,
    event: letter.event as Json,
    value,
  };
  if (value !== letter.value) data.valueTruncated = true;
  if (letter.headers && Object.keys(letter.headers).length > 0) data.headers = letter.headers;
  const event = createEvent(
    {
      type: DEAD_LETTER_TYPE,
      source,
      tenant: letter.event?.tenant ?? letter.tenant ?? 'unknown',
      linkId: letter.event?.linkId ?? null,
      ...(letter.event ? { subject: letter.event.id } : {}),
      data,
    },
    clock,
  );
  const key = letter.key ?? letter.event?.id ?? `${letter.topic}:${letter.partition}:${letter.offset}`;
  return { topic, key, event };
}
