// Leadership is a PostgreSQL session advisory lock (adapters/postgres/postgres-leadership.ts). When
// the leader's session ends under it (pg_terminate_backend: what a failover, an idle-session
// killer or an operator does), the leader must step down at once, the lock must go to whoever asks
// next, and at no moment may two processes lead. Each test has a lock key of its own, and
// terminates only the session that holds it.
import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { PostgresLeadership } from '../src/adapters/postgres/postgres-leadership.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import { Docket } from '../src/app/docket.js';
import type { LifecycleEvent } from '../src/services/lifecycle.js';
import { TEST_DATABASE_URL, openTestSchema } from './helpers/postgres.js';
import { until } from './helpers/process.js';
import { openTestPrefix } from './helpers/redis.js';

const CHECK_MS = 100;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A lock key no other test uses: two 31-bit halves, as pg_locks shows them (classid, objid). */
function lockKey(): { key: bigint; classid: number; objid: number } {
  const classid = randomInt(1, 2 ** 31);
  const objid = randomInt(1, 2 ** 31);
  return { key: (BigInt(classid) << 32n) | BigInt(objid), classid, objid };
}

async function admin<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The backend pid of the session that holds the lock, if any. */
async function holder(lock: { classid: number; objid: number }): Promise<number | undefined> {
  const rows = await admin<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
    [lock.classid, lock.objid],
  );
  return rows[0]?.pid;
}

async function terminate(pid: number): Promise<void> {
  const [row] = await admin<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [pid]);
  expect(row!.done).toBe(true);
}

/** Campaigns with its own log of changes; `errors` collects what it reports. */
function campaigner(name: string, key: bigint, log: { who: string; leader: boolean }[]) {
  const errors: unknown[] = [];
  const leadership = new PostgresLeadership({ connectionString: TEST_DATABASE_URL, lockKey: key, checkMs: CHECK_MS, onError: (e) => errors.push(e) });
  cleanups.push(() => leadership.stop());
  const start = () => leadership.start((leader) => log.push({ who: name, leader }));
  return { leadership, errors, start };
}

/** How many lead at each point of the log: never more than one. */
function leadersOver(log: readonly { who: string; leader: boolean }[]): number[] {
  const leading = new Set<string>();
  return log.map((e) => (e.leader ? leading.add(e.who) : leading.delete(e.who), leading.size));
}

describe('leadership: the leader session is terminated', () => {
  it('the leader steps down at once, reports why, and takes the lock again on a new session', async () => {
    const lock = lockKey();
    const log: { who: string; leader: boolean }[] = [];
    const a = campaigner('a', lock.key, log);
    await a.start();
    expect(a.leadership.isLeader).toBe(true);
    const first = await until('the lock held', () => holder(lock));

    await terminate(first);
    // Stepping down comes from the session's error, not from the next check.
    await until('a stepped down', () => (log.some((e) => !e.leader) ? true : undefined), 5_000, 5);
    expect(a.errors.map((e) => (e as { code?: string }).code)).toContain('57P01'); // admin_shutdown
    const second = await until('the lock held again', async () => (a.leadership.isLeader ? holder(lock) : undefined));
    expect(second).not.toBe(first);
    expect(log).toEqual([
      { who: 'a', leader: true },
      { who: 'a', leader: false },
      { who: 'a', leader: true },
    ]);
  });

  it('with a second process campaigning, the lock passes on and two never lead at once', async () => {
    const lock = lockKey();
    const log: { who: string; leader: boolean }[] = [];
    const a = campaigner('a', lock.key, log);
    const b = campaigner('b', lock.key, log);
    await a.start();
    await b.start();
    expect([a.leadership.isLeader, b.leadership.isLeader]).toEqual([true, false]);

    // Three terminations of whoever leads: each time someone leads again, never both.
    for (let round = 0; round < 3; round++) {
      const pid = await until('the lock held', () => holder(lock));
      const before = log.length;
      await terminate(pid);
      await until(`a leader again (round ${round})`, () => (log.slice(before).some((e) => e.leader) ? true : undefined));
      expect(Math.max(...leadersOver(log))).toBe(1);
    }
    expect([a.leadership.isLeader, b.leadership.isLeader].filter(Boolean)).toHaveLength(1);
    const [session] = await admin<{ application_name: string }>('SELECT application_name FROM pg_stat_activity WHERE pid = $1', [await holder(lock)]);
    expect(session).toEqual({ application_name: 'docket-leader' });
  });
});

describe('an engine whose leader session is terminated', () => {
  it('stops its duties until it leads again: a job due while it follows is promoted only after it leads again, then claimed', async () => {
    const lock = lockKey();
    const [schema, prefix] = await Promise.all([openTestSchema(), openTestPrefix()]);
    const redis = new Redis(prefix.url);
    cleanups.push(async () => {
      redis.disconnect();
      await Promise.all([prefix.cleanup(), schema.drop()]);
    });
    const clock = new SystemClock();
    const changes: { leader: boolean; at: number }[] = [];
    const errors: unknown[] = [];
    const moves: { event: LifecycleEvent; at: number }[] = [];
    const docket = new Docket({
      store: new PostgresStore({ connectionString: schema.connectionString, schema: schema.schema, max: 2 }),
      dispatch: new RedisDispatch({ redis, prefix: prefix.prefix, clock }),
      clock,
      // A second between tries: the engine follows for up to a second after the loss.
      leadership: new PostgresLeadership({ connectionString: TEST_DATABASE_URL, lockKey: lock.key, checkMs: 1000, onError: (e) => errors.push(e) }),
      onLeadership: (leader) => changes.push({ leader, at: performance.now() }),
      onError: (e) => errors.push(e),
    });
    await docket.start();
    cleanups.unshift(() => docket.close());
    docket.jobs.transitions.lifecycle.on((event) => moves.push({ event, at: performance.now() }));
    expect(changes.map((c) => c.leader)).toEqual([true]);

    await terminate(await until('the lock held', () => holder(lock)));
    await until('stepped down', () => (changes.length >= 2 ? true : undefined), 5_000, 2);
    // Due at once, while it follows: promoting is a leader's duty, so it waits for the lock.
    const [job] = await docket.jobs.submitter.submit([{ type: 'work', delayMs: 1 }], { tenant: 't1' });
    expect(job!.state).toBe('scheduled');
    const promoted = await until('the delayed job promoted', () => moves.find((m) => m.event.job.id === job!.id && m.event.to === 'ready'), 10_000, 5);
    expect(changes.map((c) => c.leader)).toEqual([true, false, true]);
    expect(promoted.at, 'promoted while following').toBeGreaterThanOrEqual(changes[2]!.at);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['57P01']);
    const claimed = await docket.jobs.claims.claim({ workerId: 'w1', queues: ['default'], max: 1 });
    expect(claimed.map((j) => j.id)).toEqual([job!.id]);
  });
});
