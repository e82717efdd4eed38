import type { Clock } from '../../ports/clock.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { Store } from '../../ports/store.js';
import { Periodic } from '../maintenance/periodic.js';
import { encodedOf } from './envelope.js';

export interface RelayOptions {
  /** Where published events go; null: the log is only positioned (SSE and webhooks read it). */
  bus: EventBus | null;
  /** Prepended to every topic name (`job-events` → `<prefix>job-events`). */
  topicPrefix: string;
  /** The envelopes' `source`, naming the cluster. */
  source: string;
  /** Pause between runs when the log is drained. @defaultValue 50 ms */
  intervalMs?: number;
  /** Events positioned and published per step. @defaultValue 2000 */
  batchSize?: number;
  /** Events older than this are deleted once every reader has passed them. @defaultValue 24 h */
  retentionMs?: number;
  /** Readers (event cursor names) whose position bounds pruning besides the bus. */
  readers?: readonly string[];
}

/** The bus relay's cursor in the event log. */
export const BUS_CURSOR = 'bus';
const PRUNE_EVERY_MS = 30_000;

/**
 * The outbox relay, a leader duty: positions the events the store logged, publishes them to the
 * bus in position order, then moves its cursor. A crash between publishing and moving the cursor
 * publishes those events again, with the same ids (at-least-once; consumers deduplicate by id).
 */
export class EventRelay {
  private readonly loop: Periodic;
  private readonly batch: number;
  private readonly listeners = new Set<() => void>();
  private lastPrune = 0;
  /** The log's end at the last run: listeners hear of events past it. */
  private lastSeen = 0;
  /** Where this relay last left the bus cursor: while the log ends there, there is nothing to publish. */
  private published = -1;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly options: RelayOptions,
    onError: (err: unknown) => void,
  ) {
    this.batch = options.batchSize ?? 2000;
    this.loop = new Periodic(clock, options.intervalMs ?? 50, () => this.runOnce(), onError);
  }

  /** The envelopes' source (the cluster's name). */
  get source(): string {
    return this.options.source;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Called after a run that found new events: this process's SSE streams and webhooks read them at once. */
  onPositioned(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Positions and publishes until the log is drained; returns how many events were published. */
  async runOnce(): Promise<number> {
    let published = 0;
    for (;;) {
      const positioned = await this.store.events.position(this.batch);
      // SQLite positions rows as they are written: the log's end says whether there is news.
      const last = await this.store.events.lastPosition();
      if (last > this.lastSeen) {
        this.lastSeen = last;
        for (const l of this.listeners) l();
      }
      const sent = this.options.bus && last > this.published ? await this.publishStep(this.options.bus, last) : 0;
      published += sent;
      if (positioned < this.batch && sent < this.batch) break;
    }
    await this.pruneNow();
    return published;
  }

  /** Publishes the next batch after the bus cursor (`last`: the log's end as of this run). */
  private async publishStep(bus: EventBus, last: number): Promise<number> {
    const after = (await this.store.events.cursor(BUS_CURSOR)) ?? 0;
    const events = await this.store.events.read(after, this.batch);
    if (events.length === 0) {
      if (after >= last) this.published = after;
      return 0;
    }
    await bus.publishEncoded(events.map((e) => encodedOf(e, this.options.source, this.options.topicPrefix)));
    const end = events[events.length - 1]!.pos;
    await this.store.events.setCursor(BUS_CURSOR, end);
    this.published = end;
    return events.length;
  }

  /** Every 30 s: deletes events past retention that every reader has passed. */
  private async pruneNow(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    let upTo = await this.store.events.lastPosition();
    const readers = [...(this.options.bus ? [BUS_CURSOR] : []), ...(this.options.readers ?? [])];
    for (const name of readers) upTo = Math.min(upTo, (await this.store.events.cursor(name)) ?? 0);
    const before = now - (this.options.retentionMs ?? 24 * 3600_000);
    while ((await this.store.events.prune(before, upTo, 1000)) > 0) {
      // keep going: a backlog of expired events is cleared in one run
    }
  }
}
