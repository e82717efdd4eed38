import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { DispatchEntry } from '../src/domain/job.js';
import { T0, newJob, running } from './conformance/fixtures.js';
import { openTestSchema } from './helpers/postgres.js';
import { until } from './helpers/process.js';

/** Two stores (two pools, so two sessions) on one fresh schema, closed and dropped after `work`. */
async function withTwoStores(work: (a: PostgresStore, b: PostgresStore) => Promise<void>): Promise<void> {
  const { connectionString, schema, drop } = await openTestSchema();
  const a = new PostgresStore({ connectionString, schema, max: 2 });
  const b = new PostgresStore({ connectionString, schema, max: 2 });
  try {
    await a.migrate();
    await work(a, b);
  } finally {
    await a.close();
    await b.close();
    await drop();
  }
}

async function releasedEvents(store: PostgresStore): Promise<Map<string, number>> {
  while ((await store.events.position(1000)) > 0) {
    // number every committed event
  }
  const counts = new Map<string, number>();
  for (const e of await store.events.read(0, 100_000)) {
    if (e.topic === 'dependency-events' && e.type === 'released') counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
  }
  return counts;
}

// Concurrency the shared suite cannot show: two sessions settling the same dependent at once.
describe('PostgresStore dependencies under concurrency', () => {
  it('releases a dependent exactly once when its two dependencies complete at the same moment in two sessions', () =>
    withTwoStores(async (s1, s2) => {
      const rounds = 12;
      const heard: DispatchEntry[] = [];
      for (const s of [s1, s2]) s.dependencies.onReleased((entries) => void heard.push(...entries));
      const dependents: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const x = await running(s1, `x${i}`);
        const y = await running(s1, `y${i}`);
        const d = newJob({ state: 'waiting', dependsOn: [x.id, y.id] });
        await s1.insertJobs([d]);
        dependents.push(d.id);
        // Each completion is its own statement and transaction, in its own session.
        await Promise.all([
          s1.completeJobs([{ id: x.id, leaseToken: `x${i}`, result: i }], T0 + 10),
          s2.completeJobs([{ id: y.id, leaseToken: `y${i}`, result: i }], T0 + 10),
        ]);
      }
      for (const id of dependents) expect((await s1.getJob(id))!.state, id).toBe('ready');
      const released = await releasedEvents(s1);
      for (const id of dependents) expect(released.get(id), id).toBe(1);
      // Whichever session released it told its listeners (both may: enqueueing twice is harmless).
      for (const id of dependents) expect(heard.some((e) => e.id === id), id).toBe(true);
    }));

  it('releases the dependent when the other completion commits while this one is still open', () =>
    withTwoStores(async (s1, s2) => {
      const x = await running(s1, 'tx');
      const y = await running(s1, 'ty');
      const d = newJob({ state: 'waiting', dependsOn: [x.id, y.id] });
      await s1.insertJobs([d]);
      // Session 1 completes x and keeps its transaction open: its trigger saw y running.
      const open = await s1.pool.connect();
      try {
        await open.query('BEGIN');
        const holder = (await open.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await open.query(`UPDATE jobs SET state = 'succeeded', finished_at = $2, updated_at = $2 WHERE id = $1`, [x.id, T0 + 10]);
        // Session 2 completes y meanwhile; its trigger must wait for session 1, then see x done.
        const second = s2.completeJobs([{ id: y.id, leaseToken: 'ty', result: 1 }], T0 + 11);
        // It is waiting: PostgreSQL shows its session blocked by session 1's.
        await until('session 2 to wait for session 1', async () => {
          const { rows } = await s1.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [holder]);
          return rows[0]!.n > 0 ? true : undefined;
        }, 10_000, 20);
        expect((await s2.getJob(d.id))!.state).toBe('waiting');
        await open.query('COMMIT');
        expect(await second).toEqual([{ ok: true }]);
      } finally {
        open.release();
      }
      expect((await s1.getJob(d.id))!.state).toBe('ready');
      expect((await releasedEvents(s1)).get(d.id)).toBe(1);
    }));

  it('does not lose a dependent submitted while its dependency completes', () =>
    withTwoStores(async (s1, s2) => {
      const dependents: string[] = [];
      for (let i = 0; i < 12; i++) {
        const x = await running(s1, `x${i}`);
        const d = newJob({ state: 'waiting', dependsOn: [x.id] });
        dependents.push(d.id);
        await Promise.all([s2.insertJobs([d]), s1.completeJobs([{ id: x.id, leaseToken: `x${i}`, result: i }], T0 + 10)]);
      }
      for (const id of dependents) expect((await s1.getJob(id))!.state, id).toBe('ready');
      const released = await releasedEvents(s1);
      for (const id of dependents) expect(released.get(id), id).toBe(1);
    }));
});
