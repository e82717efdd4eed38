import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/adapters/clock/manual-clock.js';
import type { WorkerDirectory, WorkerRecord } from '../../src/ports/worker-directory.js';
import { until } from '../helpers/process.js';

export interface DirectoryOptions {
  heartbeatTimeoutMs: number;
  /** How long a silent worker is kept (real time). Adapters without expiry ignore it. */
  ttlMs?: number;
}

export interface OpenedDirectory {
  directory: WorkerDirectory;
  /** The clock `directory` and its peers read: tests move it instead of sleeping. */
  clock: ManualClock;
  /**
   * Opens another instance over the same state, as another API process would. Adapters whose
   * state lives in one process (memory) leave it out and the cross-instance tests are skipped.
   */
  peer?: (options?: Partial<DirectoryOptions>) => Promise<WorkerDirectory>;
  /** Whether silent workers expire after `ttlMs` (Redis); else the expiry tests are skipped. */
  expires?: boolean;
  /** Releases the backing state. The suite has closed every instance by then. */
  cleanup(): Promise<void>;
}

const TIMEOUT = 30_000;
const ids = (records: readonly WorkerRecord[]) => records.map((r) => r.id);

/** The WorkerDirectory contract, run against every adapter. */
export function describeWorkerDirectoryConformance(name: string, open: (options: DirectoryOptions) => Promise<OpenedDirectory>): void {
  describe(`worker directory conformance: ${name}`, () => {
    let opened: OpenedDirectory;
    let dir: WorkerDirectory;
    let clock: ManualClock;
    let instances: WorkerDirectory[];

    beforeEach(async () => {
      opened = await open({ heartbeatTimeoutMs: TIMEOUT });
      dir = opened.directory;
      clock = opened.clock;
      instances = [dir];
    });

    afterEach(async () => {
      await Promise.all(instances.map((d) => d.close()));
      await opened.cleanup();
    });

    async function peer(options?: Partial<DirectoryOptions>): Promise<WorkerDirectory> {
      const p = await opened.peer!(options);
      instances.push(p);
      return p;
    }

    describe('one instance', () => {
      it('exposes its heartbeat timeout', () => {
        expect(dir.heartbeatTimeoutMs).toBe(TIMEOUT);
      });

      it('registers a worker as active, its first heartbeat now, with defaults filled in', async () => {
        const id = await dir.register({ queues: ['a', 'b'] });
        expect(typeof id).toBe('string');
        expect(await dir.get(id)).toEqual({
          id,
          name: null,
          queues: ['a', 'b'],
          capacity: 1,
          labels: {},
          tenant: null,
          registeredAt: clock.now(),
          lastHeartbeatAt: clock.now(),
          status: 'active',
        });
      });

      it('keeps every field given, copied: changing the input later changes nothing', async () => {
        const queues = ['q1'];
        const labels = { region: 'eu', 'gpu.kind': 'a100 "x"' };
        const id = await dir.register({ queues, capacity: 4, name: 'wörker ☃', labels, tenant: 'acme' });
        queues.push('q2');
        labels.region = 'us';
        expect(await dir.get(id)).toMatchObject({ name: 'wörker ☃', queues: ['q1'], capacity: 4, labels: { region: 'eu', 'gpu.kind': 'a100 "x"' }, tenant: 'acme' });
        expect((await dir.list()).find((w) => w.id === id)!.tenant).toBe('acme');
      });

      it('gives each registration a fresh id', async () => {
        const a = await dir.register({ queues: ['q'], name: 'same' });
        const b = await dir.register({ queues: ['q'], name: 'same' });
        expect(a).not.toBe(b);
        expect(ids(await dir.list())).toEqual([a, b]);
      });

      it('answers undefined for an unknown id', async () => {
        expect(await dir.get('nobody')).toBeUndefined();
      });

      it('lists workers in registration order, registered at the same instant or not', async () => {
        expect(await dir.list()).toEqual([]);
        const a = await dir.register({ queues: ['q'], name: 'a' });
        const b = await dir.register({ queues: ['q'], name: 'b' });
        clock.advance(5);
        const c = await dir.register({ queues: ['q'], name: 'c' });
        // A heartbeat does not reorder the list.
        await dir.touch(a);
        const listed = await dir.list();
        expect(ids(listed)).toEqual([a, b, c]);
        expect(listed.map((w) => w.name)).toEqual(['a', 'b', 'c']);
        expect(listed[2]).toEqual(await dir.get(c));
      });

      it('touch records a sign of life now; false for an unknown worker, which it does not create', async () => {
        const id = await dir.register({ queues: ['q'] });
        const registeredAt = clock.now();
        clock.advance(1_234);
        expect(await dir.touch(id)).toBe(true);
        expect(await dir.get(id)).toMatchObject({ registeredAt, lastHeartbeatAt: registeredAt + 1_234, status: 'active' });

        expect(await dir.touch('nobody')).toBe(false);
        expect(await dir.get('nobody')).toBeUndefined();
        expect(ids(await dir.list())).toEqual([id]);
      });

      it('unregister forgets the worker: true once, then false', async () => {
        const a = await dir.register({ queues: ['q'] });
        const b = await dir.register({ queues: ['q'] });
        expect(await dir.unregister(a)).toBe(true);
        expect(await dir.unregister(a)).toBe(false);
        expect(await dir.unregister('nobody')).toBe(false);
        expect(await dir.get(a)).toBeUndefined();
        expect(await dir.touch(a)).toBe(false);
        expect(ids(await dir.list())).toEqual([b]);
      });

      it('returns snapshots: changing a record changes nothing in the directory', async () => {
        const id = await dir.register({ queues: ['q'], labels: { k: 'v' } });
        const record = (await dir.get(id))!;
        record.status = 'lost';
        record.queues.push('other');
        record.labels.k = 'changed';
        (await dir.list())[0]!.lastHeartbeatAt = 0;
        expect(await dir.get(id)).toMatchObject({ status: 'active', queues: ['q'], labels: { k: 'v' }, lastHeartbeatAt: clock.now() });
      });

      it('pages workers in id order, each once, filtered by tenant, status and queue', async () => {
        const made: string[] = [];
        for (let i = 0; i < 25; i++) {
          made.push(await dir.register({ queues: i % 2 === 0 ? ['even', 'all'] : ['odd', 'all'], tenant: i % 5 === 0 ? null : `t${i % 3}` }));
        }
        clock.advance(TIMEOUT + 1);
        const keep = made.slice(0, 5);
        for (const id of keep) await dir.touch(id);
        await dir.sweep(TIMEOUT);
        const pages: string[][] = [];
        let after: string | undefined;
        do {
          const page = await dir.page({ limit: 10, ...(after ? { after } : {}) });
          pages.push(ids(page.workers));
          after = page.next ?? undefined;
        } while (after && pages.length < 10);
        expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
        expect(pages.flat()).toEqual([...made].sort());
        const all = (await dir.list()).filter((w) => made.includes(w.id));
        const expectIds = (pick: (w: WorkerRecord) => boolean) => all.filter(pick).map((w) => w.id).sort();
        expect(ids((await dir.page({ limit: 100, tenant: 't1' })).workers)).toEqual(expectIds((w) => w.tenant === 't1'));
        expect(ids((await dir.page({ limit: 100, tenant: null })).workers)).toEqual(expectIds((w) => w.tenant === null));
        expect(ids((await dir.page({ limit: 100, status: 'active' })).workers)).toEqual([...keep].sort());
        expect(ids((await dir.page({ limit: 100, queue: 'odd', status: 'lost' })).workers)).toEqual(expectIds((w) => w.queues.includes('odd') && w.status === 'lost'));
        expect((await dir.page({ limit: 100, queue: 'even' })).next).toBeNull();
      });

      it('sweep marks workers silent for longer than the timeout lost, once', async () => {
        const silent = await dir.register({ queues: ['q'], name: 'silent' });
        const alive = await dir.register({ queues: ['q'], name: 'alive' });
        const lastSeen = clock.now();
        clock.advance(TIMEOUT);
        await dir.touch(alive);
        // Silent for exactly the timeout is not yet lost.
        expect(await dir.sweep(TIMEOUT)).toEqual([]);
        clock.advance(1);
        const lost = await dir.sweep(TIMEOUT);
        expect(lost).toEqual([{ id: silent, name: 'silent', queues: ['q'], capacity: 1, labels: {}, tenant: null, registeredAt: lastSeen, lastHeartbeatAt: lastSeen, status: 'lost' }]);
        // Reported once: a later sweep does not report it again.
        expect(await dir.sweep(TIMEOUT)).toEqual([]);
        // A lost worker stays listed, as lost.
        expect((await dir.list()).map((w) => [w.id, w.status])).toEqual([
          [silent, 'lost'],
          [alive, 'active'],
        ]);
        expect((await dir.get(silent))!.status).toBe('lost');
      });

      it('sweep uses the timeout it is given', async () => {
        const id = await dir.register({ queues: ['q'] });
        clock.advance(101);
        expect(ids(await dir.sweep(100))).toEqual([id]);
      });

      it('touch revives a lost worker, which a later silence loses again', async () => {
        const id = await dir.register({ queues: ['q'] });
        clock.advance(TIMEOUT + 1);
        expect(ids(await dir.sweep(TIMEOUT))).toEqual([id]);
        expect(await dir.touch(id)).toBe(true);
        expect(await dir.get(id)).toMatchObject({ status: 'active', lastHeartbeatAt: clock.now() });
        expect(await dir.sweep(TIMEOUT)).toEqual([]);
        clock.advance(TIMEOUT + 1);
        expect(ids(await dir.sweep(TIMEOUT))).toEqual([id]);
      });

      it('an unregistered worker is never reported lost', async () => {
        const id = await dir.register({ queues: ['q'] });
        await dir.unregister(id);
        clock.advance(TIMEOUT + 1);
        expect(await dir.sweep(TIMEOUT)).toEqual([]);
      });

      it('close is idempotent', async () => {
        await dir.close();
        await dir.close();
      });
    });

    describe('several instances (processes)', () => {
      it('a worker registered on one instance heartbeats on another', async (ctx) => {
        if (!opened.peer) return ctx.skip();
        const other = await peer();
        const id = await dir.register({ queues: ['q'], name: 'w', capacity: 2 });
        expect(await other.get(id)).toEqual(await dir.get(id));
        clock.advance(500);
        expect(await other.touch(id)).toBe(true);
        expect(await dir.get(id)).toMatchObject({ lastHeartbeatAt: clock.now(), status: 'active' });
        expect(ids(await other.list())).toEqual([id]);
        // Registration order holds across instances.
        const second = await other.register({ queues: ['q'] });
        const third = await dir.register({ queues: ['q'] });
        expect(ids(await dir.list())).toEqual([id, second, third]);
        expect(ids(await other.list())).toEqual([id, second, third]);
        expect(await other.unregister(id)).toBe(true);
        expect(await dir.get(id)).toBeUndefined();
        expect(await dir.unregister(id)).toBe(false);
      });

      it('a worker lost on one instance is revived by a heartbeat on another', async (ctx) => {
        if (!opened.peer) return ctx.skip();
        const other = await peer();
        const id = await dir.register({ queues: ['q'] });
        clock.advance(TIMEOUT + 1);
        expect(ids(await dir.sweep(TIMEOUT))).toEqual([id]);
        expect((await other.get(id))!.status).toBe('lost');
        expect(await other.touch(id)).toBe(true);
        expect((await dir.get(id))!.status).toBe('active');
        expect(await other.sweep(TIMEOUT)).toEqual([]);
      });

      it('instances sweeping at once report each lost worker exactly once', async (ctx) => {
        if (!opened.peer) return ctx.skip();
        const sweepers = [dir, await peer(), await peer(), await peer()];
        const silent: string[] = [];
        for (let i = 0; i < 60; i++) silent.push(await sweepers[i % sweepers.length]!.register({ queues: ['q'], name: `silent-${i}` }));
        clock.advance(TIMEOUT + 1);
        const alive: string[] = [];
        for (let i = 0; i < 20; i++) alive.push(await sweepers[i % sweepers.length]!.register({ queues: ['q'], name: `alive-${i}` }));
        // Several rounds of every instance sweeping concurrently.
        const reported: string[] = [];
        for (let round = 0; round < 5; round++) {
          const results = await Promise.all(sweepers.flatMap((s) => [s.sweep(TIMEOUT), s.sweep(TIMEOUT)]));
          for (const r of results) reported.push(...ids(r));
        }
        expect(reported).toHaveLength(silent.length);
        expect(new Set(reported)).toEqual(new Set(silent));
        const statuses = new Map((await dir.list()).map((w) => [w.id, w.status]));
        for (const id of silent) expect(statuses.get(id)).toBe('lost');
        for (const id of alive) expect(statuses.get(id)).toBe('active');
      });
    });

    describe('expiry', () => {
      it('a worker silent past the time to live disappears; a heartbeat extends it', async (ctx) => {
        if (!opened.peer || !opened.expires) return ctx.skip();
        const TTL = 500;
        const short = await peer({ ttlMs: TTL });
        const kept = await short.register({ queues: ['q'], name: 'kept' });
        const gone = await short.register({ queues: ['q'], name: 'gone' });
        // `kept` heartbeats every poll (well within its time to live) until `gone`, registered with
        // it, has expired: then `kept` is still there (its heartbeats refreshed it).
        await until('the silent worker to expire', async () => {
          expect(await short.touch(kept)).toBe(true);
          return (await dir.get(gone)) === undefined ? true : undefined;
        }, 10_000, 50);
        expect(ids(await dir.list())).toEqual([kept]);
        expect(await dir.get(gone)).toBeUndefined();
        // An expired worker is unknown: a heartbeat gets false (the worker registers again) and
        // does not bring it back; a sweep does not report it.
        expect(await short.touch(gone)).toBe(false);
        expect(await dir.get(gone)).toBeUndefined();
        clock.advance(TIMEOUT + 1);
        expect(ids(await dir.sweep(TIMEOUT))).toEqual([kept]);
        // A lost worker expires too.
        await until('the lost worker to expire', async () => ((await dir.list()).length === 0 ? true : undefined), 10_000, 50);
        expect(await dir.list()).toEqual([]);
        expect(await dir.get(kept)).toBeUndefined();
        expect(await dir.sweep(TIMEOUT)).toEqual([]);
      });
    });
  });
}
