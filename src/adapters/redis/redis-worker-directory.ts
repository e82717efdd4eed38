import { matchesWorkerQuery, pageOf, type WorkerPage, type WorkerQuery } from '../../domain/workers.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { Clock } from '../../ports/clock.js';
import type { WorkerDirectory, WorkerInfo, WorkerRecord } from '../../ports/worker-directory.js';

export interface RedisWorkerDirectoryOptions {
  /** Where to connect when no client is given. @defaultValue redis://127.0.0.1:6379 */
  url?: string;
  /** An existing client to share; never closed by us. */
  redis?: Redis;
  /** Prefix of every key. With Redis Cluster, hash-tag it (`{docket}:`). @defaultValue 'docket:' */
  prefix?: string;
  clock: Clock;
  /** A worker silent for longer is lost (WorkerMonitor). @defaultValue 30 000 ms */
  heartbeatTimeoutMs?: number;
  /**
   * A worker silent this long is forgotten: its hash expires and it leaves the list. Keep it well
   * above the heartbeat timeout, or a silent worker vanishes before a sweep reports it lost (its
   * jobs then wait for their leases to run out). @defaultValue 300 000 ms (5 minutes)
   */
  ttlMs?: number;
}

type Arg = string | number;
type Client = Redis & {
  docketWorkerRegister(workers: string, counter: string, key: string, ...args: Arg[]): Promise<number>;
  docketWorkerTouch(workers: string, key: string, ...args: Arg[]): Promise<number>;
  docketWorkerSweep(workers: string, ...args: Arg[]): Promise<string[][]>;
};

const SCRIPTS = {
  docketWorkerRegister: { file: 'worker-register.lua', numberOfKeys: 3 },
  docketWorkerTouch: { file: 'worker-touch.lua', numberOfKeys: 2 },
  docketWorkerSweep: { file: 'worker-sweep.lua', numberOfKeys: 1 },
} as const;

let sources: Record<keyof typeof SCRIPTS, string> | undefined;

function load(): Record<keyof typeof SCRIPTS, string> {
  sources ??= Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, def]) => [name, readFileSync(new URL(`./lua/${def.file}`, import.meta.url), 'utf8')]),
  ) as Record<keyof typeof SCRIPTS, string>;
  return sources;
}

/** Worker hashes read per round trip while filling a page. */
const PAGE_CHUNK = 100;
const LIST_CHUNK = 500;

/**
 * The remote workers of the cluster, shared by every API process through Redis: a worker may
 * register on one process and heartbeat on another. Every change is one Lua script
 * (src/adapters/redis/lua/worker-*.lua); times come from the injected clock, never Redis TIME.
 *
 * Keys, under `prefix`:
 * - `worker:<id>`  hash per worker: id, name/queues/labels (JSON), capacity, registeredAt,
 *                  lastHeartbeatAt, status, seq. Expires `ttlMs` after the last sign of life, so a
 *                  worker gone that long leaves the list by itself.
 * - `workers`      sorted set, member id, score lastHeartbeatAt: what list() and sweep() walk. Ids
 *                  whose hash expired are dropped lazily (list, touch, sweep).
 * - `workers:seq`  counter stamping each registration, so list() keeps registration order.
 *
 * Nothing here is durable: a worker's leases live in the store, and a worker that gets 404 on its
 * heartbeat registers again.
 */
export class RedisWorkerDirectory implements WorkerDirectory {
  readonly heartbeatTimeoutMs: number;
  private readonly client: Client;
  private readonly ownsClient: boolean;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  /** Prefix for keys we pass to ioredis, which adds the client's own keyPrefix itself. */
  private readonly prefix: string;
  /** Prefix as Redis sees it, for keys built inside scripts (never prefixed by ioredis). */
  private readonly rawPrefix: string;
  private readonly workersKey: string;
  private readonly counterKey: string;
  private closed = false;

  constructor(options: RedisWorkerDirectoryOptions) {
    this.clock = options.clock;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 30_000;
    this.ttlMs = Math.max(1, Math.trunc(options.ttlMs ?? 300_000));
    this.ownsClient = !options.redis;
    const redis = options.redis ?? new Redis(options.url ?? 'redis://127.0.0.1:6379');
    // Errors surface as rejected commands; without a listener ioredis would also print them.
    if (this.ownsClient) redis.on('error', () => {});
    const lua = load();
    for (const [name, def] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua: lua[name as keyof typeof SCRIPTS], numberOfKeys: def.numberOfKeys });
    this.client = redis as Client;
    this.prefix = options.prefix ?? 'docket:';
    this.rawPrefix = (redis.options.keyPrefix ?? '') + this.prefix;
    this.workersKey = `${this.prefix}workers`;
    this.counterKey = `${this.prefix}workers:seq`;
  }

  async register(info: WorkerInfo): Promise<string> {
    const id = randomUUID();
    await this.client.docketWorkerRegister(
      this.workersKey,
      this.counterKey,
      this.workerKey(id),
      id,
      this.clock.now(),
      this.ttlMs,
      JSON.stringify(info.name ?? null),
      JSON.stringify([...info.queues]),
      info.capacity ?? 1,
      JSON.stringify(info.labels ?? {}),
      JSON.stringify(info.tenant ?? null),
    );
    return id;
  }

  async get(id: string): Promise<WorkerRecord | undefined> {
    return decode(await this.client.hgetall(this.workerKey(id)))?.record;
  }

  async list(): Promise<WorkerRecord[]> {
    const ids = await this.client.zrange(this.workersKey, 0, '-1');
    const found: { record: WorkerRecord; seq: number }[] = [];
    const gone: string[] = [];
    // A chunk of hashes per round trip: one reply of 10,000 hashes held the event loop (and every
    // heartbeat behind it) for ~0.4 s while it was decoded.
    for (let i = 0; i < ids.length; i += LIST_CHUNK) {
      const chunk = ids.slice(i, i + LIST_CHUNK);
      (await this.read(chunk)).forEach((decoded, j) => (decoded ? found.push(decoded) : gone.push(chunk[j]!)));
    }
    // Hashes that expired (worker silent past the TTL): their ids only linger in the sorted set.
    // Ids are never reused and touch never recreates a hash, so dropping them races with nothing.
    if (gone.length > 0) await this.client.zrem(this.workersKey, ...gone);
    return found.sort((a, b) => a.seq - b.seq).map((f) => f.record);
  }

  async page(query: WorkerQuery): Promise<WorkerPage> {
    const ids = (await this.client.zrange(this.workersKey, 0, '-1')).filter((id) => query.after === undefined || id > query.after).sort();
    const matching: WorkerRecord[] = [];
    // Hashes are read a chunk at a time until the page is full, not all of them.
    for (let i = 0; i < ids.length && matching.length <= query.limit; ) {
      const chunk = ids.slice(i, i + Math.max(PAGE_CHUNK, query.limit + 1 - matching.length));
      i += chunk.length;
      for (const decoded of await this.read(chunk)) {
        const record = decoded?.record;
        if (record && matchesWorkerQuery(record, query) && matching.push(record) > query.limit) break;
      }
    }
    return pageOf(matching, query.limit);
  }

  /** The hashes of `ids` in one round trip, decoded (undefined: expired or unknown). */
  private async read(ids: readonly string[]): Promise<({ record: WorkerRecord; seq: number } | undefined)[]> {
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.workerKey(id));
    return ((await pipeline.exec()) ?? []).map(([err, hash]) => {
      if (err) throw err;
      return decode(hash as Record<string, string>);
    });
  }

  async touch(id: string): Promise<boolean> {
    return (await this.client.docketWorkerTouch(this.workersKey, this.workerKey(id), id, this.clock.now(), this.ttlMs)) === 1;
  }

  async unregister(id: string): Promise<boolean> {
    const results = (await this.client.multi().del(this.workerKey(id)).zrem(this.workersKey, id).exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    return Number(results[0]?.[1]) > 0;
  }

  async sweep(timeoutMs: number): Promise<WorkerRecord[]> {
    const reply = await this.client.docketWorkerSweep(this.workersKey, this.rawPrefix, this.clock.now(), timeoutMs);
    const lost: WorkerRecord[] = [];
    for (const flat of reply) {
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
      const decoded = decode(hash);
      if (decoded) lost.push(decoded.record);
    }
    return lost;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private workerKey(id: string): string {
    return `${this.prefix}worker:${id}`;
  }
}

/** A worker hash as written by worker-register.lua; undefined when the hash is gone (expired). */
function decode(h: Record<string, string>): { record: WorkerRecord; seq: number } | undefined {
  if (h.id === undefined || h.registeredAt === undefined) return undefined;
  return {
    record: {
      id: h.id,
      name: JSON.parse(h.name ?? 'null') as string | null,
      queues: JSON.parse(h.queues ?? '[]') as string[],
      capacity: Number(h.capacity ?? 1),
      labels: JSON.parse(h.labels ?? '{}') as Record<string, string>,
      tenant: JSON.parse(h.tenant ?? 'null') as string | null,
      registeredAt: Number(h.registeredAt),
      lastHeartbeatAt: Number(h.lastHeartbeatAt ?? h.registeredAt),
      status: h.status === 'lost' ? 'lost' : 'active',
    },
    seq: Number(h.seq ?? 0),
  };
}
