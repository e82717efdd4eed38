import type { Json } from '../domain/job.js';

/**
 * The store's event log: a transactional outbox. Job changes are recorded by the store itself, in
 * the transaction that makes them (database triggers), so an event exists exactly when its change
 * does; other events (workers, alerts) are appended. Every row gets a position: gap-free,
 * increasing, visible in order. The relay publishes the log to the event bus; SSE and webhooks read
 * it from a position. Both stores run `test/conformance/event-log-conformance.ts`.
 */
export interface EventLog {
  /** Appends events that are not job changes (those the store records itself). */
  append(events: readonly NewLogEvent[]): Promise<void>;
  /**
   * Gives committed events their positions, oldest first, at most `limit`; returns how many. Only
   * the leader calls it (PostgreSQL: a row lock keeps two callers from overlapping). SQLite
   * positions rows as they are written: always 0.
   */
  position(limit: number): Promise<number>;
  /** Positioned events after `after`, in position order, at most `limit`. */
  read(after: number, limit: number, filter?: EventFilter): Promise<LogEvent[]>;
  /** The last position given out (0 when none). */
  lastPosition(): Promise<number>;
  /** Where reader `name` has got to, or null when it never read. */
  cursor(name: string): Promise<number | null>;
  setCursor(name: string, pos: number): Promise<void>;
  /**
   * Deletes positioned events written before `before` (epoch ms) and at or below `upTo` (what every
   * reader has passed), from the oldest; returns how many. Events logged by one statement may be
   * stored together and then go together, once all of them qualify. `limit` bounds one call's work
   * (at least that many events are left for the next call when more qualify).
   */
  prune(before: number, upTo: number, limit: number): Promise<number>;
}

/** The topics of lifecycle events, named as on Kafka (before any configured prefix). */
export const EVENT_TOPICS = ['job-events', 'worker-events', 'dependency-events', 'alert-events'] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

export interface NewLogEvent {
  topic: string;
  key: string;
  tenant: string;
  linkId?: string | null;
  type: string;
  at: number;
  data: { [key: string]: Json };
}

export interface LogEvent extends Required<NewLogEvent> {
  pos: number;
}

export interface EventFilter {
  tenant?: string;
  topics?: readonly string[];
  /** Only events at or below this position (a reader that filters pins where it read up to). */
  upTo?: number;
}
