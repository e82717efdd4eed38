import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { DispatchEntry } from '../../domain/job.js';
import type { Clock } from '../../ports/clock.js';
import { fairnessPolicy } from '../../domain/fairness.js';
import type { ClaimFilter, Dispatch, FairnessPolicy, Placement, PriorityRange, RunningCount, TakeRequest } from '../../ports/dispatch.js';
import { registerScripts, type ScriptClient, type ScriptPipeline } from './scripts.js';
import { parseArrival, Waiters, type Arrival, type Waiter } from './waiters.js';

export interface RedisDispatchOptions {
  /** Where to connect when no client is given. @defaultValue redis://127.0.0.1:6379 */
  url?: string;
  /** An existing client to share. We never close it; the subscriber is our own duplicate of it. */
  redis?: Redis;
  /** Prefix of every key and channel. With Redis Cluster, hash-tag it (`{docket}:`). @defaultValue 'docket:' */
  prefix?: string;
  clock: Clock;
  /** Weights and caps of tenants per queue. @defaultValue every tenant weight 1, no caps */
  fairness?: FairnessPolicy;
}

const LEVELS = 10;
/** Entries per script call: keeps each call short (Redis runs scripts one at a time). */
const CHUNK = 1000;

/**
 * The scale-out dispatch: the ready and delayed indexes live in Redis and every transition is one
 * Lua script (src/adapters/redis/lua), so any number of processes share them and `take` is atomic.
 *
 * Keys, under `prefix` (q queue, L priority level 1..10, t tenant, y job type; `|` cannot occur in
 * names):
 * - `r:q|L|t|y`   sorted set of one tenant's ready entries of one type at one priority, member id,
 *                 score dueAt. Equal scores sort by member, and UUIDv7 ids sort by submission.
 * - `t:q|L|t`     set of the types t has ready at L; `ring:q|L` list of the tenants with ready
 *                 entries at L, in deficit round robin order (head has the turn); `def:q|L` hash
 *                 tenant -> deficit. A tenant is in the ring exactly while its types set is non-empty.
 * - `counts`      hash queue -> ready entries; `run:q` hash tenant -> running jobs (capped queues).
 * - `levels`      hash queue -> bit mask of the levels whose ring is non-empty (bit L-1): a take over
 *                 1,000 queues reads it once and visits only queues and levels with work. Kept by
 *                 the scripts as rings fill and empty; a queue without a field (an index written
 *                 before it) has its mask worked out from its rings on first use.
 * - `delayed`     sorted set, member id, score dueAt.
 * - `entries`     hash id -> JSON [queue, tenant, priority, dueAt, type?, labels?]: hands entries
 *                 back and tells a script where an id is when it moves or is removed.
 * - channels `wake:<queue>` (an enqueue or freed slots: `<sender>:{"c": {level: jobs}, "t": tenant,
 *   "y": type}`, level 0 for slots of any priority, `t` and `y` when all share one) and `due` (the
 *   earliest due time moved earlier).
 *
 * A take walks priority levels, then the queues, then the ring of each (take.lua): priority stays
 * strict, tenants of one priority share it by weight, and a tenant's own jobs keep due order.
 *
 * Nothing here is durable: the store is the truth and the dispatch repair (services/maintenance/dispatch-repair.ts) refills Redis.
 *
 * Wake-ups use pub/sub rather than blocking pops on signal lists: one PUBLISH from inside the
 * enqueue script reaches every process over one subscriber connection per instance, a message
 * nobody hears costs nothing (no stale signals piling up), and a blocked waiter does not hold a
 * connection of its own. Each process hands the jobs off (waiters.ts): n new jobs wake at most n
 * of its waiting claimers that could take them, so idle long-polls cost nothing per job.
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
  /** Every channel this instance listens on, and the SUBSCRIBE in flight or done for each on this connection. */
  private readonly channels = new Set<string>();
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private readonly waiters = new Waiters();
  private readonly dueListeners = new Set<() => void>();
  private readonly pauseListeners = new Set<() => void>();
  private readonly fairness: FairnessPolicy;
  /** Fairness JSON per queue for take.lua ('' when the queue has no rules), built once. */
  private readonly policyArgs = new Map<string, string>();
  private readonly queueLists = new WeakMap<readonly string[], QueueList>();
  private rotation = 0;
  private closed = false;

  constructor(options: RedisDispatchOptions) {
    this.clock = options.clock;
    this.fairness = options.fairness ?? fairnessPolicy();
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

  async placesOf(ids: readonly string[]): Promise<Placement[][]> {
    if (ids.length === 0) return [];
    const replies = await this.run(ids, (target, chunk) => target.docketPlaces(this.entriesKey, this.delayedKey, this.rawPrefix, ...chunk));
    return (replies.flat() as string[]).map((where) => [...(where.includes('r') ? ['ready' as const] : []), ...(where.includes('d') ? ['delayed' as const] : [])]);
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
      for (const e of chunk) args.push(e.id, e.queue, level(e.priority), e.tenant, e.type ?? '', readyScore(e), encode(e));
      return target.docketEnqueue(...args);
    });
    // Our own waiters hear it now rather than after a pub/sub round trip.
    for (const [queue, arrival] of arrivals(entries)) this.waiters.handOff(queue, arrival);
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
    const max = Math.trunc(request.max);
    const taking = this.takeArgs(request.queues, request.range, request.filter);
    if (!taking || max <= 0) return [];
    taking.args[1] = max;
    const reply = (await this.client.docketTake(this.entriesKey, ...taking.args)) as unknown[];
    // The next take starts after the last queue this one served (its 1-based position is the
    // 0-based position of the next), or one further when it served none.
    const last = Number(reply[0]);
    this.rotation = last > 0 ? last : taking.start + 1;
    return decodeAll(reply.slice(1));
  }

  async release(entries: readonly Pick<DispatchEntry, 'queue' | 'tenant'>[]): Promise<void> {
    const args: (string | number)[] = [];
    const freed = new Map<string, Map<string, number>>();
    for (const e of entries) {
      if (!this.fairness.capped(e.queue)) continue;
      const tenants = freed.get(e.queue) ?? new Map<string, number>();
      freed.set(e.queue, tenants.set(e.tenant, (tenants.get(e.tenant) ?? 0) + 1));
    }
    for (const [queue, tenants] of freed) for (const [tenant, n] of tenants) args.push(queue, tenant, -n);
    if (args.length === 0) return;
    await this.client.docketRunning(this.rawPrefix, this.sender, ...args);
    // Other instances hear the script's messages.
    for (const [queue, tenants] of freed) for (const [tenant, n] of tenants) this.waiters.handOff(queue, { counts: { 0: n }, tenant });
  }

  async runningCounts(queues: readonly string[]): Promise<RunningCount[]> {
    const pipeline = this.client.pipeline();
    for (const q of queues) pipeline.hgetall(`${this.prefix}run:${q}`);
    const replies = (await pipeline.exec()) ?? [];
    return queues.flatMap((queue, i) => {
      const [err, counts] = replies[i]!;
      if (err) throw err;
      return Object.entries(counts as Record<string, string>).map(([tenant, n]) => ({ queue, tenant, running: Number(n) }));
    });
  }

  async adjustRunning(queue: string, tenant: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await this.client.docketRunning(this.rawPrefix, this.sender, queue, tenant, Math.trunc(delta));
    if (delta < 0) this.waiters.handOff(queue, { counts: { 0: -Math.trunc(delta) }, tenant });
  }

  /**
   * take.lua's arguments after the entries key (max left 0 for the caller): prefix, max, level
   * range, filter, probe flag, where to start in the list (where the last take stopped, so that
   * queues take turns across takes too), the fairness rules of the queues that have some, then the
   * queues. The list part is made once per list of queues: a worker names the same ones on every
   * claim. null when there is no queue.
   */
  private takeArgs(queues: readonly string[], range?: PriorityRange, filter?: ClaimFilter, probe = false): { args: (string | number)[]; start: number } | null {
    const list = this.queueList(queues);
    if (list.names.length === 0) return null;
    const start = list.names.length > 1 ? this.rotation % list.names.length : 0;
    const args: (string | number)[] = [this.rawPrefix, 0, level(range?.min ?? 1), level(range?.max ?? LEVELS), filter ? JSON.stringify(filter) : '', probe ? '1' : '0', start, list.rules];
    for (const q of list.names) args.push(q);
    return { args, start };
  }

  /** The distinct names of `queues` and their rules for take.lua, remembered per list (the caller's array). */
  private queueList(queues: readonly string[]): QueueList {
    let list = this.queueLists.get(queues);
    // A caller may have changed its array since (cheap to check: no Redis call, no allocation).
    if (!list || list.source.length !== queues.length || list.source.some((q, i) => q !== queues[i])) {
      const names = [...new Set(queues)];
      const rules: Record<string, unknown> = {};
      names.forEach((q, i) => {
        const arg = this.policyArg(q);
        if (arg !== '') rules[String(i + 1)] = JSON.parse(arg);
      });
      list = { source: queues.slice(), names, rules: Object.keys(rules).length > 0 ? JSON.stringify(rules) : '' };
      this.queueLists.set(queues, list);
    }
    return list;
  }

  private policyArg(queue: string): string {
    let arg = this.policyArgs.get(queue);
    if (arg === undefined) {
      const rules = this.fairness.rulesOf(queue);
      arg = rules ? JSON.stringify(luaPolicy(rules)) : '';
      this.policyArgs.set(queue, arg);
    }
    return arg;
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

  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange, filter?: ClaimFilter): Promise<void> {
    if (this.closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const names = [...new Set(queues)];
      const waiter: Waiter = { mask: rangeMask(range), filter, done: () => {} };
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        signal?.removeEventListener('abort', done);
        for (const q of names) this.waiters.delete(q, waiter);
        resolve();
      };
      waiter.done = done;
      const timer = this.clock.setTimer(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      for (const q of names) this.waiters.add(q, waiter);
      // Listen first, then look: an enqueue after the look publishes on a channel we already hear.
      // A failure (Redis down) leaves the waiter to its timeout, abort or a later message: never
      // a rejection, and no spinning claim loop either.
      this.hasWork(names, range, filter).then(
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

  async announcePauses(): Promise<void> {
    await this.client.publish(this.pausesChannel(), `${this.sender}:`);
  }

  onPausesChanged(listener: () => void): () => void {
    this.pauseListeners.add(listener);
    if (!this.closed) this.subscribe(this.pausesChannel()).catch(() => {});
    return () => this.pauseListeners.delete(listener);
  }

  async readyCount(queue: string): Promise<number> {
    return Math.max(0, Number((await this.client.hget(`${this.prefix}counts`, queue)) ?? 0));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.wakeEveryone();
    this.dueListeners.clear();
    this.pauseListeners.clear();
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

  /** Whether a take would get something now (take.lua as a probe: caps and filters count). */
  private async hasWork(queues: readonly string[], range?: PriorityRange, filter?: ClaimFilter): Promise<boolean> {
    const taking = this.takeArgs(queues, range, filter, true);
    if (!taking) return false;
    await Promise.all(queues.map((q) => this.subscribe(this.wakeChannel(q))));
    return Number(await this.client.docketTake(this.entriesKey, ...taking.args)) === 1;
  }

  /** Subscribes once per channel; later calls share the first subscription. */
  private subscribe(channel: string): Promise<unknown> {
    let pending = this.subscriptions.get(channel);
    if (!pending) {
      this.channels.add(channel);
      const sent = this.subscriberConnection().subscribe(channel);
      // Failed (Redis down): the next call, or the next reconnect, subscribes again.
      sent.catch(() => this.subscriptions.get(channel) === sent && this.subscriptions.delete(channel));
      this.subscriptions.set(channel, (pending = sent));
    }
    return pending;
  }

  private subscriberConnection(): Redis {
    if (this.subscriber) return this.subscriber;
    // We resubscribe after a reconnect ourselves: ioredis's own resubscription is a promise nobody
    // handles, and when the connection drops again before Redis answers it (an outage that comes
    // back and goes again, the command flushed after maxRetriesPerRequest) its rejection is an
    // unhandled one, which ended worker and leader processes (test/redis-resubscribe.test.ts).
    const sub = this.client.duplicate({ autoResubscribe: false });
    sub.on('error', () => {});
    sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    // Messages sent while the connection was down are lost: after a reconnect, subscribe again
    // and let every waiter look again and every promoter re-arm.
    let connectedBefore = false;
    sub.on('ready', () => {
      if (connectedBefore) {
        this.subscriptions.clear();
        for (const channel of this.channels) this.subscribe(channel).catch(() => {}); // failed: the next ready tries again
        for (const queue of [...this.waiters.queues()]) this.waiters.wakeAll(queue);
        this.notifyDue();
      }
      connectedBefore = true;
    });
    this.subscriber = sub;
    return sub;
  }

  private onMessage(channel: string, message: string): void {
    const colon = message.indexOf(':');
    if (message.slice(0, colon) === this.sender) return;
    if (channel === this.dueChannel()) this.notifyDue();
    else if (channel === this.pausesChannel()) for (const l of [...this.pauseListeners]) l();
    else if (channel.startsWith(this.wakePrefix())) {
      const queue = channel.slice(this.wakePrefix().length);
      const arrival = parseArrival(message.slice(colon + 1));
      // A bare number is an older sender's priority mask: wake as it did, everyone who may take it.
      if (typeof arrival === 'number') this.waiters.wakeAll(queue, arrival);
      else this.waiters.handOff(queue, arrival);
    }
  }

  private notifyDue(): void {
    for (const l of [...this.dueListeners]) l();
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

  private pausesChannel(): string {
    return `${this.rawPrefix}pauses`;
  }
}

/** A list of queues as take.lua reads it: names in order, and the rules of those that have some (JSON by 1-based position, '' for none). */
interface QueueList {
  /** The caller's array as it was when this was made. */
  source: readonly string[];
  names: string[];
  rules: string;
}

/** Priorities outside 1..10 order as the nearest level, as in the memory dispatch. */
function level(priority: number): number {
  return Math.min(LEVELS, Math.max(1, Math.trunc(priority)));
}

/** Ready sets are per priority level, so the score is the due time alone (ids break ties). */
function readyScore(e: DispatchEntry): string {
  return String(Math.max(0, Math.trunc(e.dueAt)));
}

/** A queue's fairness rules as take.lua reads them (no nulls: cjson would hand back a sentinel). */
function luaPolicy(rules: NonNullable<ReturnType<FairnessPolicy['rulesOf']>>): Record<string, unknown> {
  const w: Record<string, number> = {};
  const c: Record<string, number> = {};
  for (const [tenant, share] of Object.entries(rules.tenants)) {
    if (share.weight !== undefined) w[tenant] = share.weight;
    if (share.maxRunning != null) c[tenant] = share.maxRunning;
  }
  const policy: Record<string, unknown> = { dw: rules.fallback.weight };
  if (Object.keys(w).length > 0) policy.w = w;
  if (Object.keys(c).length > 0) policy.c = c;
  if (rules.fallback.maxRunning !== null) policy.dc = rules.fallback.maxRunning;
  return policy;
}

/** What `entries` bring to each queue, as the enqueue script's wake messages tell other instances. */
function arrivals(entries: readonly DispatchEntry[]): Map<string, Arrival> {
  const out = new Map<string, Arrival>();
  for (const e of entries) {
    const type = e.type ?? '';
    let a = out.get(e.queue);
    if (!a) out.set(e.queue, (a = { counts: {}, tenant: e.tenant, type }));
    const L = level(e.priority);
    a.counts[L] = (a.counts[L] ?? 0) + 1;
    if (a.tenant !== e.tenant) delete a.tenant;
    if (a.type !== type) delete a.type;
  }
  return out;
}

function rangeMask(range?: PriorityRange): number {
  let mask = 0;
  for (let p = level(range?.min ?? 1); p <= level(range?.max ?? LEVELS); p++) mask |= 1 << (p - 1);
  return mask;
}

function encode(e: DispatchEntry): string {
  if (e.labels) return JSON.stringify([e.queue, e.tenant, e.priority, e.dueAt, e.type ?? '', e.labels]);
  return JSON.stringify(e.type ? [e.queue, e.tenant, e.priority, e.dueAt, e.type] : [e.queue, e.tenant, e.priority, e.dueAt]);
}

/** Decodes a script's flat [id, encoded, ...] reply. An id without an entry cannot be handed back: skipped. */
function decodeAll(reply: unknown): DispatchEntry[] {
  const flat = reply as (string | null)[];
  const out: DispatchEntry[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const encoded = flat[i + 1];
    if (!encoded) continue;
    const [queue, tenant, priority, dueAt, type, labels] = JSON.parse(encoded) as [string, string, number, number, string?, Record<string, string>?];
    const e: DispatchEntry = { id: flat[i]!, queue, tenant, priority, dueAt };
    if (type) e.type = type;
    if (labels) e.labels = labels;
    out.push(e);
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
