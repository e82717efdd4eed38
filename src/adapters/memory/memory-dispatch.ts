import type { DispatchEntry } from '../../domain/job.js';
import { fairnessPolicy, matchesFilter } from '../../domain/fairness.js';
import type { Clock } from '../../ports/clock.js';
import type { ClaimFilter, Dispatch, FairnessPolicy, Placement, PriorityRange, ReadyBacklog, RunningCount, TakeRequest } from '../../ports/dispatch.js';
import { BinaryHeap } from './binary-heap.js';
import { Bucket, byDue } from './bucket.js';
import { Ring } from './ring.js';

const LEVELS = 10;
/** With a label filter, how many ready entries of one tenant and type a take looks through. */
const LABEL_SCAN = 1000;

/** One tenant's ready entries at one priority, by type. A bucket goes when it holds nothing, in memory or in the store. */
interface Lane {
  types: Map<string, Bucket>;
}

/** One priority level of a queue: the tenants with work, their turn order and deficits. */
interface Level {
  lanes: Map<string, Lane>;
  /** Deficit round robin order: the head tenant has the turn. Holds exactly the keys of `lanes`. */
  ring: Ring;
  deficits: Map<string, number>;
}

interface QueueIndex {
  /** Indexed by priority (1..10; slot 0 unused). */
  levels: Level[];
  /** Entries held in memory. */
  size: number;
  /** Buckets whose later entries the store holds (a fence is set). */
  spilled: number;
  /** Claimers waiting for work here, oldest first. */
  waiters: Set<Waiter>;
}

/** A claim waiting for work: what it can take, and how to wake it. */
interface Waiter {
  range: PriorityRange | undefined;
  filter: ClaimFilter | undefined;
  done: () => void;
}

/** The embedded store behind the dispatch, and how many entries of each bucket stay in memory. */
export interface ReadyWindow {
  backlog: ReadyBacklog;
  /**
   * Entries of one bucket kept in memory; up to twice as many between trims. A take reads the
   * next page from the store when a bucket runs dry. @defaultValue 1000
   */
  size?: number;
}

/**
 * The embedded dispatch: ready and delayed indexes in memory, rebuilt from the store at start.
 * Ready entries are kept per queue, priority, tenant and type; tenants of a priority take turns by
 * deficit round robin. Heaps use lazy deletion: `remove` forgets an id in the live maps (and the
 * counts), and pops skip stale entries. With a `ReadyWindow` each bucket keeps only its head in
 * memory and reads the rest from the store a page at a time (bucket.ts).
 */
export class MemoryDispatch implements Dispatch {
  private readonly queues = new Map<string, QueueIndex>();
  private readonly ready = new Map<string, DispatchEntry>();
  private readonly delayed = new BinaryHeap<DispatchEntry>(byDue);
  private readonly delayedLive = new Map<string, DispatchEntry>();
  private readonly dueListeners = new Set<() => void>();
  /** Running jobs per capped queue and tenant. */
  private readonly running = new Map<string, Map<string, number>>();
  private rotation = 0;
  private readonly backlog: ReadyBacklog | null;
  private readonly window: number;

  constructor(
    private readonly clock: Clock,
    private readonly fairness: FairnessPolicy = fairnessPolicy(),
    window?: ReadyWindow,
  ) {
    this.backlog = window?.backlog ?? null;
    this.window = window ? Math.max(1, window.size ?? 1000) : Infinity;
  }

  private rebuiltId: string | null = null;

  /** Entries held in memory, ready and delayed (diagnostics: what the window bounds). */
  get held(): number {
    return this.ready.size + this.delayedLive.size;
  }

  async missing(ids: readonly string[]): Promise<string[]> {
    const away = ids.filter((id) => !this.holds(id));
    const beyond = this.beyondWindow(away);
    return away.filter((id) => !beyond.has(id));
  }

  async placesOf(ids: readonly string[]): Promise<Placement[][]> {
    const beyond = this.beyondWindow(ids.filter((id) => !this.holds(id)));
    return ids.map((id) => [...(this.ready.has(id) || beyond.has(id) ? ['ready' as const] : []), ...(this.delayedLive.has(id) ? ['delayed' as const] : [])]);
  }

  private holds(id: string): boolean {
    return this.ready.has(id) || this.delayedLive.has(id);
  }

  /** Those of `away` (ids not in memory) that the store holds past their bucket's window: the index has them. */
  private beyondWindow(away: readonly string[]): Set<string> {
    const out = new Set<string>();
    if (!this.backlog || away.length === 0) return out;
    for (const e of this.backlog.readyOf(away)) if (this.bucketOf(e)?.beyond(e)) out.add(e.id);
    return out;
  }

  private bucketOf(e: DispatchEntry): Bucket | undefined {
    return this.queues.get(e.queue)?.levels[clampLevel(e.priority)]!.lanes.get(e.tenant)?.types.get(e.type ?? '');
  }

  async markRebuilt(id: string): Promise<void> {
    this.rebuiltId = id;
  }

  async rebuiltAs(): Promise<string | null> {
    return this.rebuiltId;
  }

  async enqueue(entries: readonly DispatchEntry[]): Promise<void> {
    const touched = new Map<string, number>();
    for (const e of entries) {
      this.forget(e.id);
      const q = this.index(e.queue);
      const level = q.levels[clampLevel(e.priority)]!;
      let lane = level.lanes.get(e.tenant);
      if (!lane) {
        lane = { types: new Map() };
        level.lanes.set(e.tenant, lane);
        level.ring.push(e.tenant);
      }
      const type = e.type ?? '';
      let bucket = lane.types.get(type);
      if (!bucket) lane.types.set(type, (bucket = new Bucket(e.queue, clampLevel(e.priority), e.tenant, type)));
      touched.set(e.queue, (touched.get(e.queue) ?? 0) + 1);
      if (bucket.beyond(e)) continue; // the store holds it; a take reads it when the window gets there
      this.hold(q, bucket, e);
      if (bucket.live > 2 * this.window) this.trim(q, bucket);
    }
    for (const [name, added] of touched) this.handOff(name, added);
  }

  private hold(q: QueueIndex, bucket: Bucket, e: DispatchEntry): void {
    bucket.heap.push(e);
    bucket.live++;
    q.size++;
    this.ready.set(e.id, e);
  }

  /** Leaves all but the head of a bucket to the store. */
  private trim(q: QueueIndex, bucket: Bucket): void {
    if (!bucket.fence) q.spilled++;
    for (const e of bucket.trim(this.window, (e) => this.ready.get(e.id) === e)) {
      this.ready.delete(e.id);
      q.size--;
    }
  }

  /** Reads the next page of a bucket whose memory ran dry from the store. */
  private refill(bucket: Bucket): void {
    const q = this.index(bucket.queue);
    const page = this.backlog!.readyAfter(bucket, bucket.fence!, this.window);
    if (page.length < this.window) {
      bucket.fence = null;
      q.spilled--;
    } else bucket.fence = page[page.length - 1]!;
    for (const e of page) if (!this.holds(e.id)) this.hold(q, bucket, e);
    if (bucket.live === 0 && !bucket.fence) this.drop(q, bucket);
  }

  async schedule(entries: readonly DispatchEntry[]): Promise<void> {
    const before = this.delayed.peek();
    for (const e of entries) {
      this.forget(e.id);
      this.delayed.push(e);
      this.delayedLive.set(e.id, e);
    }
    const after = this.peekDelayed();
    if (after && after !== before) for (const l of this.dueListeners) l();
  }

  async take(request: TakeRequest): Promise<DispatchEntry[]> {
    const out: DispatchEntry[] = [];
    const names = request.queues;
    const n = names.length;
    const start = n > 1 ? this.rotation % n : 0;
    let last = -1;
    for (let level = clampLevel(request.range?.min ?? 1); level <= clampLevel(request.range?.max ?? LEVELS) && out.length < request.max; level++) {
      // Queues take turns: each pass gives every queue an equal share of what is still wanted,
      // so many queues each get some before any gets its whole share twice.
      for (let progress = true; progress && out.length < request.max; ) {
        progress = false;
        const quota = Math.max(1, Math.floor((request.max - out.length) / n));
        for (let k = 0; k < n && out.length < request.max; k++) {
          const name = names[(start + k) % n]!;
          const q = this.queues.get(name);
          if (!q || (q.size === 0 && q.spilled === 0)) continue;
          const before = out.length;
          const need = Math.min(quota, request.max - out.length);
          if (request.filter?.tenant !== undefined) this.serveTenant(name, q.levels[level]!, request.filter.tenant, need, request.filter, out);
          else this.serve(name, q.levels[level]!, need, request.filter, out);
          if (out.length > before) (progress = true), (last = k);
        }
      }
    }
    // The next take starts after the last queue served here.
    if (n > 1) this.rotation = last < 0 ? start + 1 : start + last + 1;
    return out;
  }

  async release(entries: readonly Pick<DispatchEntry, 'queue' | 'tenant'>[]): Promise<void> {
    const freed = new Map<string, number>();
    for (const e of entries) {
      if (!this.fairness.capped(e.queue)) continue;
      const counts = this.running.get(e.queue);
      const n = counts?.get(e.tenant) ?? 0;
      if (n > 1) counts!.set(e.tenant, n - 1);
      else counts?.delete(e.tenant);
      freed.set(e.queue, (freed.get(e.queue) ?? 0) + 1);
    }
    for (const [name, slots] of freed) this.handOff(name, slots);
  }

  async runningCounts(queues: readonly string[]): Promise<RunningCount[]> {
    return queues.flatMap((queue) => [...(this.running.get(queue) ?? [])].map(([tenant, running]) => ({ queue, tenant, running })));
  }

  async adjustRunning(queue: string, tenant: string, delta: number): Promise<void> {
    const counts = this.running.get(queue) ?? new Map<string, number>();
    this.running.set(queue, counts);
    const n = Math.max(0, (counts.get(tenant) ?? 0) + delta);
    if (n > 0) counts.set(tenant, n);
    else counts.delete(tenant);
    if (delta < 0) this.handOff(queue, -delta);
  }

  /**
   * Deficit round robin over the tenants of one priority level of `queue`: the head tenant gets
   * `weight` more credit when its turn starts (a tenant alone takes all it may), takes up to its
   * credit, its cap and `need`, and goes to the back when its credit is spent (or it had nothing
   * that matches). A tenant that runs out of entries leaves the ring and its deficit is dropped.
   */
  private serve(queue: string, level: Level, need: number, filter: ClaimFilter | undefined, out: DispatchEntry[]): void {
    const ring = level.ring;
    let idle = 0;
    while (need > 0 && ring.size > 0 && idle < ring.size) {
      const tenant = ring.head!;
      const share = this.fairness.shareOf(queue, tenant);
      const running = share.maxRunning === null ? 0 : (this.running.get(queue)?.get(tenant) ?? 0);
      const room = share.maxRunning === null ? need : Math.min(need, share.maxRunning - running);
      const alone = ring.size === 1;
      const deficit = level.deficits.get(tenant) ?? 0;
      const credit = alone ? room : deficit < 1 ? deficit + share.weight : deficit;
      const quota = Math.min(Math.floor(credit), room);
      const got = quota > 0 ? this.takeFromLane(level, tenant, quota, filter) : [];
      for (const e of got) out.push(e);
      need -= got.length;
      if (got.length > 0 && share.maxRunning !== null) this.countRunning(queue, tenant, got.length);
      if (!level.lanes.has(tenant)) {
        idle = got.length > 0 ? 0 : idle; // emptied: forget() took it out of the ring
        continue;
      }
      if (got.length === 0) {
        ring.rotate();
        idle++;
        continue;
      }
      idle = 0;
      const left = alone ? 0 : credit - got.length;
      if (got.length < quota || left <= 0) level.deficits.delete(tenant); // ran out of matching work, or spent
      else level.deficits.set(tenant, left);
      // Credit left and only `need` cut the take short: the tenant keeps its turn for the next take.
      if (got.length === quota && left >= 1 && need === 0) continue;
      if (ring.size > 1) ring.rotate();
    }
  }

  /** A take for one tenant (filter.tenant): its lane alone, up to its cap; no turn or credit changes. */
  private serveTenant(queue: string, level: Level, tenant: string, need: number, filter: ClaimFilter, out: DispatchEntry[]): void {
    if (!level.lanes.has(tenant)) return;
    const share = this.fairness.shareOf(queue, tenant);
    const room = share.maxRunning === null ? need : Math.min(need, share.maxRunning - (this.running.get(queue)?.get(tenant) ?? 0));
    if (room <= 0) return;
    const got = this.takeFromLane(level, tenant, room, filter);
    for (const e of got) out.push(e);
    if (got.length > 0 && share.maxRunning !== null) this.countRunning(queue, tenant, got.length);
  }

  /** Takes up to `quota` entries of one tenant in due order, merging its types, keeping to `filter`. */
  private takeFromLane(level: Level, tenant: string, quota: number, filter: ClaimFilter | undefined): DispatchEntry[] {
    const lane = level.lanes.get(tenant)!;
    const buckets = filter?.types ? filter.types.flatMap((t) => lane.types.get(t) ?? []) : [...lane.types.values()];
    const got: DispatchEntry[] = [];
    if (!filter?.labels) {
      while (got.length < quota) {
        let best: Bucket | undefined;
        let head: DispatchEntry | undefined;
        for (const b of buckets) {
          const h = this.headOf(b);
          if (h && (!head || byDue(h, head))) (best = b), (head = h);
        }
        if (!best || !head) break;
        best.heap.pop();
        this.forget(head.id);
        got.push(head);
      }
      return got;
    }
    // Label filter: look through each bucket's first entries in order, keeping the matching ones.
    const matched: DispatchEntry[] = [];
    for (const b of buckets) {
      const skipped: DispatchEntry[] = [];
      let found = 0;
      while (found < quota && skipped.length + found < LABEL_SCAN) {
        const h = this.headOf(b);
        if (!h) break;
        b.heap.pop();
        if (matchesFilter(filter, h.type, h.labels)) {
          matched.push(h);
          found++;
        } else skipped.push(h);
      }
      for (const e of skipped) b.heap.push(e);
    }
    matched.sort((a, b) => (byDue(a, b) ? -1 : 1));
    const taken = matched.slice(0, quota);
    for (const e of matched.slice(quota)) lane.types.get(e.type ?? '')!.heap.push(e);
    for (const e of taken) this.forget(e.id);
    return taken;
  }

  /** The earliest entry of a bucket: from memory, else from the store's next page. */
  private headOf(b: Bucket): DispatchEntry | undefined {
    const h = this.liveHead(b);
    if (h || !b.fence) return h;
    this.refill(b);
    return this.liveHead(b);
  }

  /** The earliest live entry of a bucket in memory, dropping stale heads. */
  private liveHead(b: Bucket): DispatchEntry | undefined {
    for (;;) {
      const h = b.heap.peek();
      if (!h || this.ready.get(h.id) === h) return h;
      b.heap.pop();
    }
  }

  /** Whether a take with `range` and `filter` would get an entry now. */
  private hasWork(q: QueueIndex, queue: string, range?: PriorityRange, filter?: ClaimFilter): boolean {
    if (q.size === 0 && q.spilled === 0) return false;
    for (let l = clampLevel(range?.min ?? 1); l <= clampLevel(range?.max ?? LEVELS); l++) {
      for (const [tenant, lane] of q.levels[l]!.lanes) {
        if (filter?.tenant !== undefined && tenant !== filter.tenant) continue;
        const share = this.fairness.shareOf(queue, tenant);
        if (share.maxRunning !== null && (this.running.get(queue)?.get(tenant) ?? 0) >= share.maxRunning) continue;
        if (!filter?.types && !filter?.labels) return true;
        for (const [type, b] of lane.types) {
          if (filter.types && !filter.types.includes(type)) continue;
          if (!filter.labels) return true;
          // Labels are matched in memory only: past the window they count once a take gets there.
          if (b.heap.values().some((e) => this.ready.get(e.id) === e && matchesFilter(filter, e.type, e.labels))) return true;
        }
      }
    }
    return false;
  }

  /**
   * Hand-off: `count` jobs (or freed slots) arrived on `queue`; wakes at most that many waiting
   * claimers, oldest first, and only those a take would serve now (priority range, filter, tenant
   * caps). The rest sleep on: an idle claimer costs nothing per job it does not get.
   */
  private handOff(queue: string, count: number): void {
    const q = this.queues.get(queue);
    if (!q || q.waiters.size === 0) return;
    for (const w of [...q.waiters]) {
      if (count <= 0) return;
      if (!this.hasWork(q, queue, w.range, w.filter)) continue;
      w.done();
      count--;
    }
  }

  private countRunning(queue: string, tenant: string, n: number): void {
    let counts = this.running.get(queue);
    if (!counts) this.running.set(queue, (counts = new Map()));
    counts.set(tenant, (counts.get(tenant) ?? 0) + n);
  }

  async takeDue(now: number, max: number): Promise<DispatchEntry[]> {
    const out: DispatchEntry[] = [];
    while (out.length < max) {
      const e = this.peekDelayed();
      if (!e || e.dueAt > now) break;
      this.delayed.pop();
      this.delayedLive.delete(e.id);
      out.push(e);
    }
    return out;
  }

  async nextDueAt(): Promise<number | null> {
    return this.peekDelayed()?.dueAt ?? null;
  }

  async remove(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.forget(id);
  }

  waitForWork(queues: readonly string[], timeoutMs: number, signal?: AbortSignal, range?: PriorityRange, filter?: ClaimFilter): Promise<void> {
    const indexes = queues.map((name) => this.index(name));
    if (signal?.aborted || indexes.some((q, i) => this.hasWork(q, queues[i]!, range, filter))) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = { range, filter, done: () => {} };
      const done = () => {
        timer.cancel();
        signal?.removeEventListener('abort', done);
        for (const q of indexes) q.waiters.delete(waiter);
        resolve();
      };
      waiter.done = done;
      const timer = this.clock.setTimer(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      for (const q of indexes) q.waiters.add(waiter);
    });
  }

  onDueChanged(listener: () => void): () => void {
    this.dueListeners.add(listener);
    return () => this.dueListeners.delete(listener);
  }

  /** One process: nobody else to tell. */
  async announcePauses(): Promise<void> {}

  onPausesChanged(): () => void {
    return () => {};
  }

  async readyCount(queue: string): Promise<number> {
    const q = this.queues.get(queue);
    if (q && q.spilled > 0) return this.backlog!.countReady(queue);
    return q?.size ?? 0;
  }


  async close(): Promise<void> {
    for (const q of this.queues.values()) for (const w of [...q.waiters]) w.done();
    this.dueListeners.clear();
  }

  /** Drops `id` from the live maps and counts; an emptied bucket, lane or ring slot goes too. */
  private forget(id: string): void {
    const r = this.ready.get(id);
    if (r) {
      this.ready.delete(id);
      const q = this.index(r.queue);
      q.size--;
      const bucket = this.bucketOf(r)!;
      if (--bucket.live === 0 && !bucket.fence) this.drop(q, bucket);
    }
    this.delayedLive.delete(id);
  }

  /** An emptied bucket goes, and its lane (with its turn and deficit) when it was the last. */
  private drop(q: QueueIndex, bucket: Bucket): void {
    const level = q.levels[bucket.priority]!;
    const lane = level.lanes.get(bucket.tenant)!;
    lane.types.delete(bucket.type);
    if (lane.types.size > 0) return;
    level.lanes.delete(bucket.tenant);
    level.deficits.delete(bucket.tenant);
    level.ring.delete(bucket.tenant);
  }

  private peekDelayed(): DispatchEntry | undefined {
    for (;;) {
      const e = this.delayed.peek();
      if (!e || this.delayedLive.get(e.id) === e) return e;
      this.delayed.pop();
    }
  }

  private index(queue: string): QueueIndex {
    let q = this.queues.get(queue);
    if (!q) {
      q = { levels: Array.from({ length: LEVELS + 1 }, () => ({ lanes: new Map(), ring: new Ring(), deficits: new Map() })), size: 0, spilled: 0, waiters: new Set() };
      this.queues.set(queue, q);
    }
    return q;
  }
}

function clampLevel(priority: number): number {
  return Math.min(LEVELS, Math.max(1, Math.trunc(priority)));
}


