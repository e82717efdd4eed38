import type { Json } from '../../domain/job.js';
import type { LogEvent, NewLogEvent } from '../../ports/event-log.js';

/** An event as stored in a row's `events` array (see migrations/0005_events.sql). */
export type StoredEvent = readonly Json[];

const TOPIC_OF: Record<string, string> = { j: 'job-events', d: 'dependency-events' };

/** A stored event as the port's LogEvent, at position `pos`. */
export function decodeEvent(a: StoredEvent, pos: number): LogEvent {
  if (a[0] === 'x') {
    return { pos, topic: a[1] as string, key: a[2] as string, tenant: a[3] as string, linkId: a[4] as string | null, type: a[5] as string, at: a[6] as number, data: a[7] as LogEvent['data'] };
  }
  return {
    pos,
    topic: TOPIC_OF[a[0] as string]!,
    type: a[1] as string,
    at: a[2] as number,
    key: a[3] as string,
    tenant: a[4] as string,
    linkId: a[5] as string | null,
    data: {
      jobId: a[3]!,
      queue: a[6]!,
      jobType: a[7]!,
      state: a[8]!,
      previousState: a[9]!,
      attempt: a[10]!,
      maxAttempts: a[11]!,
      priority: a[12]!,
      reason: a[13]!,
      workerId: a[14]!,
      condition: a[15]!,
      runAt: a[16]!,
      error: a[17]!,
      progress: a[18]!,
    },
  };
}

/** An appended event in the stored form. */
export function encodeEvent(e: NewLogEvent): StoredEvent {
  return ['x', e.topic, e.key, e.tenant, e.linkId ?? null, e.type, e.at, e.data];
}
