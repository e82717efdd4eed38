import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { T0, insert, newJob, running } from './conformance/fixtures.js';
import { describeStoreConformance } from './conformance/store-conformance.js';
import { openTestSchema } from './helpers/postgres.js';

/** A migrated store on a fresh schema, closed and dropped after `work`. */
async function withStore(work: (store: PostgresStore, open: () => PostgresStore) => Promise<void>): Promise<void> {
  const { connectionString, schema, drop } = await openTestSchema();
  const opened: PostgresStore[] = [];
  const open = () => {
    const s = new PostgresStore({ connectionString, schema, max: 2 });
    opened.push(s);
    return s;
  };
  try {
    const store = open();
    await store.migrate();
    await work(store, open);
  } finally {
    for (const s of opened) await s.close();
    await drop();
  }
}

describeStoreConformance('postgres (schema per test)', async () => {
  const { connectionString, schema, drop } = await openTestSchema();
  const store = new PostgresStore({ connectionString, schema, max: 4 });
  return {
    store,
    async cleanup() {
      await store.close();
      await drop();
    },
  };
});

describe('PostgresStore migrate', () => {
  it('is safe when two servers start together: both resolve, each version applied once', async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    const a = new PostgresStore({ connectionString, schema, max: 2 });
    const b = new PostgresStore({ connectionString, schema, max: 2 });
    try {
      await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
      const { rows } = await a.pool.query<{ version: number; n: string }>(
        'SELECT version, count(*) AS n FROM docket_migrations GROUP BY version ORDER BY version',
      );
      const files = rows.map((r) => r.version);
      expect(files[0]).toBe(1);
      expect(files).toEqual(files.map((_, i) => i + 1));
      expect(rows.every((r) => r.n === '1')).toBe(true);
      expect(await b.countByState({})).toMatchObject({ ready: 0 });
    } finally {
      await a.close();
      await b.close();
      await drop();
    }
  });

  it('uses a given pool as is and leaves it open on close', async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    const pool = new pg.Pool({ connectionString, max: 2, options: `-c search_path=${schema}` });
    try {
      const store = new PostgresStore({ pool });
      await store.migrate();
      await store.close();
      const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM docket_migrations');
      expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    } finally {
      await pool.end();
      await drop();
    }
  });
});

// Behaviour the shared suite does not pin down, which this adapter gets by batching.
describe('PostgresStore batches', () => {
  it('applies a transition batch as if its moves ran one by one, the same job included', () =>
    withStore(async (store) => {
      const job = await running(store, 'tok');
      const results = await store.transition([
        { id: job.id, from: ['running'], leaseToken: 'tok', to: 'retrying', patch: { error: { message: 'a', attempt: 1, at: T0 } }, now: T0 + 1 },
        { id: job.id, from: ['running'], leaseToken: 'tok', to: 'failed', patch: {}, now: T0 + 2 },
        { id: job.id, from: ['retrying'], to: 'ready', patch: { runAt: T0 + 3 }, now: T0 + 3 },
      ]);
      expect(results.map((r) => (r.ok ? `${r.from}->${r.job.state}` : r.reason))).toEqual(['running->retrying', 'wrong_state', 'retrying->ready']);
      expect(results[0]).toMatchObject({ job: { state: 'retrying', updatedAt: T0 + 1, errors: [{ message: 'a' }] } });
      expect(await store.getJob(job.id)).toMatchObject({ state: 'ready', runAt: T0 + 3, errors: [{ message: 'a' }] });
    }));

  it('completes a job named twice in one batch once, and gives the first claim of a job its token', () =>
    withStore(async (store) => {
      const job = await insert(store);
      const { claimed } = await store.claimJobs([{ id: job.id, leaseToken: 'a' }, { id: job.id, leaseToken: 'b' }], 'w', T0 + 9, T0);
      expect(claimed.map((j) => j.leaseToken)).toEqual(['a']);
      expect((await store.getJob(job.id))!.leaseToken).toBe('a');
      expect(await store.completeJobs([{ id: job.id, leaseToken: 'a', result: 1 }, { id: job.id, leaseToken: 'a', result: 2 }], T0 + 1)).toEqual([
        { ok: true },
        { ok: false, reason: 'wrong_state', state: 'succeeded' },
      ]);
      expect((await store.getJob(job.id))!.result).toBe(1);
    }));

  it('hands each job to one of two stores claiming the same jobs at once', () =>
    withStore(async (store, open) => {
      const jobs = Array.from({ length: 200 }, () => newJob());
      await store.insertJobs(jobs);
      const other = open();
      const claims = (tag: string) => jobs.map((j) => ({ id: j.id, leaseToken: `${tag}-${j.id}` }));
      const [a, b] = await Promise.all([store.claimJobs(claims('a'), 'wa', T0 + 9, T0), other.claimJobs(claims('b').reverse(), 'wb', T0 + 9, T0)]);
      const ids = [...a.claimed, ...b.claimed].map((j) => j.id);
      expect(ids.length).toBe(200);
      expect(new Set(ids).size).toBe(200);
    }));

  it('claims and completes one job at a time with plans made once, fencing as a batch does', async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    // One connection: the prepared statements below are that session's.
    const store = new PostgresStore({ connectionString, schema, max: 1 });
    try {
      await store.migrate();
      for (let i = 0; i < 8; i++) {
        const job = await insert(store);
        const { claimed } = await store.claimJobs([{ id: job.id, leaseToken: `t${i}` }], 'w', T0 + 9, T0);
        expect(claimed.map((j) => [j.id, j.leaseToken, j.state])).toEqual([[job.id, `t${i}`, 'running']]);
        expect(await store.completeJobs([{ id: job.id, leaseToken: 'stale', result: i }], T0 + 1)).toEqual([{ ok: false, reason: 'lease_mismatch', state: 'running' }]);
        expect(await store.completeJobs([{ id: job.id, leaseToken: `t${i}`, result: i }], T0 + 1)).toEqual([{ ok: true }]);
        expect(await store.getJob(job.id)).toMatchObject({ state: 'succeeded', result: i });
      }
      expect((await store.claimJobs([{ id: newJob().id, leaseToken: 'x' }], 'w', T0 + 9, T0)).claimed).toEqual([]);
      const { rows } = await store.pool.query<{ name: string; generic_plans: string; custom_plans: string }>(
        `SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name IN ('docket_claim_one', 'docket_complete_one') ORDER BY name`,
      );
      // PostgreSQL tries five custom plans, then keeps the generic one (queries.ts, SINGLE).
      expect(rows.map((r) => [r.name, Number(r.custom_plans) <= 5, Number(r.generic_plans) >= 4])).toEqual([
        ['docket_claim_one', true, true],
        ['docket_complete_one', true, true],
      ]);
    } finally {
      await store.close();
      await drop();
    }
  });

  it('loadDispatchable pages through more jobs than one page holds, each exactly once', () =>
    withStore(async (store) => {
      const states = ['ready', 'scheduled', 'retrying', 'succeeded'] as const;
      const jobs = Array.from({ length: 12_001 }, (_, i) => newJob({ queue: `q${i % 3}`, state: states[i % 4]! }));
      await store.insertJobs(jobs);
      const seen: string[] = [];
      for await (const { entry } of store.loadDispatchable()) seen.push(entry.id);
      const want = jobs.filter((j) => j.state !== 'succeeded').map((j) => j.id);
      expect(seen.length).toBe(want.length);
      expect(new Set(seen)).toEqual(new Set(want));
    }));
});

describe('PostgresStore event log', () => {
  it('positions only committed events: one written by a transaction still open is positioned after it commits, not skipped', () =>
    withStore(async (store) => {
      const client = await store.pool.connect();
      try {
        await client.query('BEGIN');
        // Takes the lower seq, then stays open while others commit after it.
        await client.query(`INSERT INTO events (n, at, events) VALUES (1, 1, '[["x","worker-events","slow","t",null,"registered",1,{}]]')`);
        await store.events.append([{ topic: 'worker-events', key: 'fast', tenant: 't', type: 'registered', at: 2, data: {} }]);
        expect(await store.events.position(100)).toBe(1);
        expect((await store.events.read(0, 100)).map((e) => [e.pos, e.key])).toEqual([[1, 'fast']]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      expect(await store.events.position(100)).toBe(1);
      expect((await store.events.read(0, 100)).map((e) => [e.pos, e.key])).toEqual([
        [1, 'fast'],
        [2, 'slow'],
      ]);
    }));

  it('gives gap-free positions when two positioners race (a leader handover)', () =>
    withStore(async (store, open) => {
      const other = open();
      // 100 statements of 5 events each.
      for (let s = 0; s < 100; s++) {
        await store.events.append(Array.from({ length: 5 }, (_, i) => ({ topic: 'worker-events', key: `w${s * 5 + i}`, tenant: 't', type: 'registered', at: s, data: {} })));
      }
      const counts = await Promise.all([store.events.position(50), other.events.position(50), store.events.position(50), other.events.position(50)]);
      while ((await store.events.position(50)) > 0);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
      const events = await store.events.read(0, 1000);
      expect(events.map((e) => e.pos)).toEqual(events.map((_, i) => i + 1));
      expect(events.map((e) => e.key)).toEqual(events.map((_, i) => `w${i}`));
    }));
});
