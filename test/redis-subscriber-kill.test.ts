// The Redis dispatch hears other processes' enqueues and due-time changes on one pub/sub
// connection per instance. When Redis drops that connection (CLIENT KILL, a failover, a proxy's
// idle timeout), messages sent while it is down are lost: the instance must subscribe again on
// its own (ioredis's resubscription is off, redis-dispatch.ts says why), wake its waiting claimers
// to look again, and re-arm its promoter. Only this test's own subscriber is killed, found by a
// connection name of its own (the shared Redis is never touched otherwise).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import type { DispatchEntry } from '../src/domain/job.js';
import { settles, until, within } from './helpers/process.js';
import { openTestPrefix, TEST_REDIS_URL } from './helpers/redis.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const entry = (over: Partial<DispatchEntry> = {}): DispatchEntry => ({ id: uuidv7(), queue: 'q', tenant: 't0', priority: 5, dueAt: Date.now(), ...over });

/** A dispatch whose connections carry a name of their own (the subscriber is a duplicate: same name), and a peer over the same keys. */
async function pair() {
  const prefix = await openTestPrefix();
  const name = `docket-test-${randomUUID()}`;
  const redis = new Redis(prefix.url, { connectionName: name });
  const clock = new SystemClock();
  const dispatch = new RedisDispatch({ redis, prefix: prefix.prefix, clock });
  const peer = new RedisDispatch({ url: prefix.url, prefix: prefix.prefix, clock });
  const admin = new Redis(TEST_REDIS_URL);
  cleanups.push(async () => {
    await Promise.all([dispatch.close(), peer.close()]);
    redis.disconnect();
    admin.disconnect();
    await prefix.cleanup();
  });
  /** Ids and subscription counts of our pub/sub connections. */
  const subscribers = async () =>
    ((await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => ({ id: /(?:^| )id=(\d+)/.exec(line)![1]!, channels: Number(/ sub=(\d+)/.exec(line)![1]) }));
  const kill = async () => {
    const [sub] = await subscribers();
    expect(sub, 'our subscriber connection').toBeDefined();
    expect(await admin.call('CLIENT', 'KILL', 'ID', sub!.id)).toBe(1); // clients killed
    return sub!.id;
  };
  /**
   * The positive marker before "not woken" is a finding: a waiter on another queue resolves once
   * a peer enqueued there. The dispatch looks for its waiters in the order they came, over one
   * connection, so by then it has looked for every earlier waiter and found nothing for those
   * still pending; the marker's channel is heard on the subscriber connection as it is now.
   */
  const looked = async () => {
    const queue = `marker-${randomUUID()}`;
    await peer.enqueue([entry({ queue })]);
    await within('the marker waiter, on a queue with work', dispatch.waitForWork([queue], 30_000), 5_000);
  };
  return { dispatch, peer, subscribers, kill, looked };
}

describe('Redis dispatch: its pub/sub connection is killed', () => {
  it('subscribes again on a new connection, and a peer enqueue wakes a waiting claimer as before', async () => {
    const { dispatch, peer, subscribers, kill, looked } = await pair();
    // Before: a peer's enqueue wakes our waiter (the positive marker that wake-ups travel by pub/sub).
    const first = dispatch.waitForWork(['q'], 30_000);
    await until('subscribed', async () => ((await subscribers())[0]?.channels === 1 ? true : undefined));
    await peer.enqueue([entry()]);
    await within('the first wake-up', first, 5_000);
    expect(await dispatch.take({ queues: ['q'], max: 10 })).toHaveLength(1);

    const killed = await kill();
    const again = await until('a new subscriber with its channel', async () => {
      const [sub] = await subscribers();
      return sub && sub.id !== killed && sub.channels === 1 ? sub : undefined;
    });
    expect(again.id).not.toBe(killed);

    const waiting = dispatch.waitForWork(['q'], 30_000);
    await looked();
    expect(await settles(waiting, 0), 'woken with nothing to take').toBe(false);
    const e = entry();
    await peer.enqueue([e]);
    await within('the wake-up after the kill', waiting, 5_000);
    expect(await dispatch.take({ queues: ['q'], max: 10 })).toEqual([e]);
  });

  it('a claimer waiting while the connection is down is woken to look again: the job enqueued meanwhile is taken', async () => {
    const { dispatch, peer, subscribers, kill, looked } = await pair();
    const waiting = dispatch.waitForWork(['q'], 30_000);
    await until('subscribed', async () => ((await subscribers())[0]?.channels === 1 ? true : undefined));
    await looked();
    expect(await settles(waiting, 0), 'woken with nothing to take').toBe(false);
    await kill();
    // Sent while our subscriber is gone: no one hears the message.
    const e = entry();
    await peer.enqueue([e]);
    await within('the waiter woken after the reconnect', waiting, 5_000);
    expect(await dispatch.take({ queues: ['q'], max: 10 })).toEqual([e]);
  });

  it('the promoter hears of an earlier due time again after the reconnect', async () => {
    const { dispatch, peer, subscribers, kill } = await pair();
    let heard = 0;
    dispatch.onDueChanged(() => heard++);
    await until('subscribed to due', async () => ((await subscribers())[0]?.channels === 1 ? true : undefined));
    await peer.schedule([entry({ dueAt: Date.now() + 60_000 })]);
    await until('the first due message', () => (heard >= 1 ? true : undefined), 5_000, 10);

    const killed = await kill();
    await until('resubscribed to due', async () => {
      const [sub] = await subscribers();
      return sub && sub.id !== killed && sub.channels === 1 ? true : undefined;
    });
    const before = heard;
    await peer.schedule([entry({ dueAt: Date.now() + 30_000 })]);
    await until('a due message after the kill', () => (heard > before ? true : undefined), 5_000, 10);
  });
});
