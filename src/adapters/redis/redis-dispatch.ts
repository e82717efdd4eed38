import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { DispatchEntry } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import type { Dispatch, PriorityRange, TakeRequest } from '../../ports/dispatch.js';
import { registerScripts, type ScriptClient, type ScriptPipeline } from './scripts.js';

export interface RedisDispatchOptions {
  /** Where to connect when no client is given. @defaultValue redis://127.0.0.1:6379 */
  url?: string;
  /** An existing client to share. We never close it; the subscriber is our own duplicate of it. */
  redis?: Redis;
  /** Prefix of every key and channel. With Redis Cluster, hash-tag it (`{docket}:`). @defaultValue 'docket:' */
  prefix?: string;
  clock: Clock;
}

/** priority * 2^42 + dueAt stays exact in a double for priorities 1..10 and dues up to 2^42 ms (year 2109). */
const PRIORITY_SPAN = 2 ** 42;
const LEVELS = 10;
/** Entries per script call: keeps each call short (Redis runs scripts one at a time). */
const CHUNK = 1000;

interface Waiter {
  /** Priorities (bit p-1 for priority p) whose arrival wakes this waiter. */
  mask: number;
  done: () => void;
}

/**
 * The scale-out dispatch: the ready and delayed indexes live in Redis and every transition is one
 * Lua script (src/adapters/redis/lua), so any number of processes share them and `take` is atomic.
 *
 * Keys, under `prefix`:
 * - `ready:<queue>`  sorted set per queue, member id, score priority * 2^42 + dueAt. Equal scores
 *                    sort by member, and UUIDv7 ids sort by submission: the set order is exactly
 *                    priority, due time, submission. A priority range is one score interval.
 * - `delayed`        sorted set, member id, score dueAt.
 * - `entries`        hash id -> JSON [queue, tenant, priority, dueAt]: hands entries back and tells
 *                    a script where an id is when it moves or is removed.
 * - channels `wake:<queue>` (an enqueue happened: "<sender>:<priority mask>") and `due` (the
 *   earliest due time moved earlier).
 *
 * Fairness between tenants (deficit round robin) is meant to slot in as one more level: per-tenant
 * sets `ready:<queue>:<tenant>` with the same scores, a per-queue set of tenants with work and a
 * hash of deficits/weights; take.lua then serves tenant heads in rounds instead of one set. The
 * entries hash already carries the tenant so enqueue/remove can find an id's tenant set.
 *
 * Nothing here is durable: the store is the truth and JobService.rebuildDispatch refills Redis.
 *
 * Wake-ups use pub/sub rather than blocking pops on signal lists: one PUBLISH from inside the
 * enqueue script reaches every idle worker of every process over one subscriber connection per
 * instance, a message nobody hears costs nothing (no stale signals piling up), and a blocked
 * waiter does not hold a connection of its own.
 */
export class RedisDispatch implements Dispatch {
  private readonly client: ScriptClient;
  private readonly ownsClient: boolean;
  private readonly clock: Clock;
  /** Prefix for keys we pass to ioredis, which adds the client's own keyPrefix itself. */
  private readonly prefix: string;
  /** Prefix as Redis sees it, for keys built inside scripts and for channels (never prefixed by ioredis). */
  private readonly rawPrefix: string;
  private readonly entriesKey: string;
  private readonly delayedKey: string;
  /** Lets the subscriber skip messages this instance sent: it already woke its own waiters. */
  private readonly sender = randomUUID();
  private subscriber: Redis | null = null;
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly dueListeners = new Set<() => void>();
  private closed = false;

  constructor(options: RedisDispatchOptions) {
    this.clock = options.clock;
    this.ownsClient = !options.redis;
    const redis = options.redis ?? new Redis(options.url ?? 'redis://127.0.0.1:6379');
    // Errors surface as rejected commands; without a listener ioredis would also print them.
    if (this.ownsClient) redis.on('error', () => {});
    this.client = registerScripts(redis);
    this.prefix = options.prefix ?? 'docket:';
    this.rawPrefix = (redis.options.keyPrefix ?? '') + this.prefix;
    this.entriesKey = `${this.prefix}entries`;
    this.delayedKey = `${this.prefix}delayed`;
  }

  async missing(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    // The entries hash holds every indexed id, ready or delayed.
    const found = await this.client.hmget(this.entriesKey, ...ids);
    return ids.filter((_, i) => found[i] === null);
  }

  async markRebuilt(id: string): Promise<void> {
    await this.client.set(`${this.prefix}rebuilt`, id);
  }

  async rebuiltAs(): Promise<string | null> {
    return this.client.get(`${this.prefix}rebuilt`);
  }

  async enqueue(entries: readonly DispatchEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.run(entries, (target, chunk) => {
      const args: (string | number)[] = [this.entriesKey, this.delayedKey, this.rawPrefix, this.sender];
      for (const e of chunk) args.push(e.id, e.queue, level(e.priority), readyScore(e), encode(e));
      return target.docketEnqueue(...args);
    });
    // Our own waiters hear it now rather than after a pub/sub round trip.
    const masks = new Map<string, number>();
    for (const e of entries) masks.set(e.queue, (masks.get(e.queue) ?? 0) | (1 << (level(e.priority) - 1)));
    for (const [queue, mask] of masks) this.wake(queue, mask);
  }

  async schedule(entries: readonly DispatchEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const published = await this.run(entries, (target, chunk) => {
      const args: (string | number)[] = [this.entriesKey, this.delayedKey, this.rawPrefix, this.sender];
      for (const e of chunk) args.push(e.id, e.dueAt, encode(e));
      return target.docketSchedule(...args);
    });
    if (published.some((r) => Number(r) === 1)) this.notifyDue();
  }

  async take(request: TakeRequest): Promise<DispatchEntry[]> {
    const queues = [...new Set(request.queues)];
    const max = Math.trunc(request.max);
    if (queues.length === 0 || max <= 0) return [];
    const { lo, hi } = scoreBounds(request.range);
    const keys = [this.entriesKey, ...queues.map((q) => this.readyKey(q))];
    return decodeAll(await this.client.docketTake(keys.length, ...keys, max, lo, hi));
  }

  async takeDue(now: number, max: number): Promise<DispatchEntry[]> {
    if (max <= 0) return [];
    return decodeAll(await this.client.docketTakeDue(this.entriesKey, this.delayedKey, now, Math.trunc(max)));
  }

  async nextDueAt(): Promise<number | null> {
    const head = await this.client.zrange(this.delayedKey, 0, '0', 'WITHSCORES');
    return head.length === 2 ? Number(head[1]) : null;
  }

  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.run(ids, (target, chunk) => target.docketRemove(this.entriesKey, this.delayedKey, this.rawPrefix, ...chunk));
  }

  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const names = [...new Set(queues)];
      const waiter: Waiter = { mask: rangeMask(range), done: () => {} };
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal?.removeEventListener('abort', done);
        for (const q of names) this.waiters.get(q)?.delete(waiter);
        resolve();
      };
      waiter.done = done;
      const timer = this.clock.setTimer(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      for (const q of names) this.waitersOf(q).add(waiter);
      // Listen first, then look: an enqueue after the look publishes on a channel we already hear.
      // A failure (Redis down) leaves the waiter to its timeout, abort or a later message: never
      // a rejection, and no spinning claim loop either.
      this.hasWork(names, range).then(
        (yes) => yes && done(),
        () => {},
      );
    });
  }

  onDueChanged(listener: () => void): () => void {
    this.dueListeners.add(listener);
    if (!this.closed) this.subscribe(this.dueChannel()).catch(() => {});
    return () => this.dueListeners.delete(listener);
  }

  async readyCount(queue: string): Promise<number> {
    return this.client.zcard(this.readyKey(queue));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.waiters.values()) for (const w of [...set]) w.done();
    this.dueListeners.clear();
    const quits: Promise<unknown>[] = [];
    if (this.subscriber) quits.push(quit(this.subscriber));
    if (this.ownsClient) quits.push(quit(this.client));
    await Promise.all(quits);
  }

  /** Runs `call` once per chunk of `items`: one script call, or one pipeline of them (one round trip). */
  private async run<T>(items: readonly T[], call: (target: ScriptClient | ScriptPipeline, chunk: T[]) => unknown): Promise<unknown[]> {
    if (items.length <= CHUNK) return [await call(this.client, items.slice())];
    const pipeline = this.client.pipeline() as ScriptPipeline;
    for (let i = 0; i < items.length; i += CHUNK) call(pipeline, items.slice(i, i + CHUNK));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  private async hasWork(queues: readonly string[], range?: PriorityRange): Promise<boolean> {
    if (queues.length === 0) return false;
    await Promise.all(queues.map((q) => this.subscribe(this.wakeChannel(q))));
    const { lo, hi } = scoreBounds(range);
    const pipeline = this.client.pipeline();
    for (const q of queues) pipeline.zcount(this.readyKey(q), lo, hi);
    const counts = (await pipeline.exec()) ?? [];
    return counts.some(([err, n]) => !err && Number(n) > 0);
  }

  /** Subscribes once per channel; later calls share the first subscription. */
  private subscribe(channel: string): Promise<unknown> {
    let pending = this.subscriptions.get(channel);
    if (!pending) {
      pending = this.subscriberConnection().subscribe(channel);
      pending.catch(() => this.subscriptions.delete(channel));
      this.subscriptions.set(channel, pending);
    }
    return pending;
  }

  private subscriberConnection(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.client.duplicate();
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // Messages sent while the connection was down are lost: after a reconnect (ioredis
    // resubscribes by itself) let every waiter look again and every promoter re-arm.
    let connectedBefore = false;
    sub.on('ready', () => {
      if (connectedBefore) {
        for (const [queue] of this.waiters) this.wake(queue, rangeMask());
        this.notifyDue();
      }
      connectedBefore = true;
    });
    this.subscriber = sub;
    return sub;
  }

  private onMessage(channel: string, message: string): void {
    const colon = message.lastIndexOf(':');
    if (message.slice(0, colon) === this.sender) return;
    if (channel === this.dueChannel()) this.notifyDue();
    else if (channel.startsWith(this.wakePrefix())) this.wake(channel.slice(this.wakePrefix().length), Number(message.slice(colon + 1)));
  }

  /** Wakes the waiters of `queue` whose priority range meets `mask`. */
  private wake(queue: string, mask: number): void {
    const set = this.waiters.get(queue);
    if (!set) return;
    for (const w of [...set]) if (w.mask & mask) w.done();
  }

  private notifyDue(): void {
    for (const l of [...this.dueListeners]) l();
  }

  private waitersOf(queue: string): Set<Waiter> {
    let set = this.waiters.get(queue);
    if (!set) this.waiters.set(queue, (set = new Set()));
    return set;
  }

  private readyKey(queue: string): string {
    return `${this.prefix}ready:${queue}`;
  }

  private wakePrefix(): string {
    return `${this.rawPrefix}wake:`;
  }

  private wakeChannel(queue: string): string {
    return this.wakePrefix() + queue;
  }

  private dueChannel(): string {
    return `${this.rawPrefix}due`;
  }
}

/** Priorities outside 1..10 order as the nearest level, as in the memory dispatch. */
function level(priority: number): number {
  return Math.min(LEVELS, Math.max(1, Math.trunc(priority)));
}

function readyScore(e: DispatchEntry): string {
  const due = Math.min(PRIORITY_SPAN - 1, Math.max(0, Math.trunc(e.dueAt)));
  return String(level(e.priority) * PRIORITY_SPAN + due);
}

/** Score interval of a priority range: from the first score of `min` up to, excluding, the first of `max + 1`. */
function scoreBounds(range?: PriorityRange): { lo: string; hi: string } {
  const min = level(range?.min ?? 1);
  const max = level(range?.max ?? LEVELS);
  return { lo: String(min * PRIORITY_SPAN), hi: `(${(max + 1) * PRIORITY_SPAN}` };
}

function rangeMask(range?: PriorityRange): number {
  let mask = 0;
  for (let p = level(range?.min ?? 1); p <= level(range?.max ?? LEVELS); p++) mask |= 1 << (p - 1);
  return mask;
}

function encode(e: DispatchEntry): string {
  return JSON.stringify([e.queue, e.tenant, e.priority, e.dueAt]);
}

/** Decodes a script's flat [id, encoded, ...] reply. An id without an entry cannot be handed back: skipped. */
function decodeAll(reply: unknown): DispatchEntry[] {
  const flat = reply as (string | null)[];
  const out: DispatchEntry[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const encoded = flat[i + 1];
    if (!encoded) continue;
    const [queue, tenant, priority, dueAt] = JSON.parse(encoded) as [string, string, number, number];
    out.push({ id: flat[i]!, queue, tenant, priority, dueAt });
  }
  return out;
}

async function quit(redis: Redis): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
