// Issue 21.6: worker-events carries a periodic status of every active worker (configurable, 0 =
// off), and a clean shutdown says `deregistered`: an in-process worker's close() and a remote
// worker's DELETE (test/events-stream.test.ts has the latter over HTTP). On both deployments
// (embedded; PostgreSQL + Redis): the directory is Redis's in production, the event log the store's.
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import type { Docket } from '../src/app/docket.js';
import type { LogEvent } from '../src/ports/event-log.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { both } from './helpers/both.js';
import { until } from './helpers/process.js';

const { onBoth, open, defer } = both();

/**
 * The worker events a reader of the log sees. The relay (a leader duty) positions what was logged:
 * SQLite at once, PostgreSQL on its next run, which a manual clock never brings, so it runs here first.
 */
const workerEvents = async (d: Docket): Promise<LogEvent[]> => {
  await d.relay.runOnce();
  return d.store.events.read(0, 1000, { topics: ['worker-events'] });
};
/** Every worker event, however many: positioned (PostgreSQL: as the relay does, until none is left) and read page by page. */
async function everyWorkerEvent(d: Docket): Promise<LogEvent[]> {
  for (let i = 0; i < 100 && (await d.store.events.position(1000)) > 0; i++);
  const out: LogEvent[] = [];
  for (let page: LogEvent[] = [null as never]; page.length > 0 && out.length < 100_000; ) {
    page = await d.store.events.read(out.at(-1)?.pos ?? 0, 1000, { topics: ['worker-events'] });
    out.push(...page);
  }
  return out;
}
const statuses = async (d: Docket) => (await workerEvents(d)).filter((e) => e.type === 'status');

onBoth('worker status events', () => {
  it('the leader publishes one status per active worker every interval: last heartbeat, silence, jobs held', async () => {
    const clock = new ManualClock();
    const docket = await open({ clock, workerStatusIntervalMs: 5000, leaseMs: 60_000 });
    const busy = await docket.workers.register({ queues: ['default'], capacity: 4, name: 'busy' });
    const idle = await docket.workers.register({ queues: ['default'], name: 'idle' });
    await docket.jobs.submitter.submit([{ type: 'a' }, { type: 'b' }], { tenant: 'default' });
    expect(await docket.jobs.claims.claim({ workerId: busy, queues: ['default'], max: 2 })).toHaveLength(2);
    const registeredAt = clock.now();
    const armed = clock.pendingTimers();

    clock.advance(5000);
    await until('the first round of status events', async () => ((await statuses(docket)).length >= 2 ? true : undefined), 5000, 10);
    // A loop arms its next run once its run is over: time moves on only after every loop has.
    await until('every loop armed again', async () => (clock.pendingTimers() >= armed ? true : undefined), 5000, 5);
    clock.advance(2000);
    await docket.workers.touch(idle); // a heartbeat: its silence starts again
    clock.advance(3000);
    await until('the second round', async () => ((await statuses(docket)).length >= 4 ? true : undefined), 5000, 10);

    const events = await statuses(docket);
    // Exactly one per worker per interval: two rounds in 10 s, not more.
    expect(events.map((e) => [e.key, e.at - registeredAt])).toEqual([
      [busy, 5000],
      [idle, 5000],
      [busy, 10_000],
      [idle, 10_000],
    ]);
    expect(events[2]).toMatchObject({ topic: 'worker-events', tenant: '*', data: { workerId: busy, name: 'busy', status: 'active', capacity: 4, running: 2, lastHeartbeatAt: registeredAt, silentForMs: 10_000 } });
    expect(events[3]!.data).toMatchObject({ workerId: idle, running: 0, lastHeartbeatAt: registeredAt + 7000, silentForMs: 3000 });
  });

  it('a round covers every worker exactly once, however many: 1,201 workers, logged 100 at a time over half the interval', async () => {
    const clock = new ManualClock();
    // An hour's interval and lease: no other round and no lost worker while the clock moves on.
    const docket = await open({ clock, workerStatusIntervalMs: 3_600_000, leaseMs: 36_000_000 });
    const ids: string[] = [];
    for (let i = 0; i < 1201; i++) ids.push(await docket.workers.register({ queues: ['default'], name: `w${i}` }));
    await docket.jobs.submitter.submit([{ type: 'a' }], { tenant: 'default' });
    expect(await docket.jobs.claims.claim({ workerId: ids[1200]!, queues: ['default'], max: 1 })).toHaveLength(1);
    const began = clock.now();
    const logged = async () => (await everyWorkerEvent(docket)).filter((e) => e.type === 'status');

    let done: number | undefined;
    void docket.workerStatus!.runOnce().then((n) => (done = n));
    await until('the first 100 logged', async () => ((await logged()).length >= 100 ? true : undefined));
    expect(await logged()).toHaveLength(100); // the rest waits for the clock: 13 chunks over 30 minutes
    // The clock moves past the next chunk's pause (1,800,000 ms / 13) once per chunk logged, and
    // again only if nothing was logged for a while (the pause was set after the clock moved).
    // A step per probe instead passed the reporter's own next round (an hour on) on a loaded
    // machine, and logged a chunk twice.
    let movedAt = 0;
    let idle = 0;
    await until(
      'the round to end',
      async () => {
        if (done !== undefined) return true;
        const n = (await logged()).length;
        if (n > movedAt || ++idle > 40) {
          movedAt = n;
          idle = 0;
          clock.advance(140_000);
        }
        return undefined;
      },
      20_000,
      5,
    );
    expect(done).toBe(1201);
    expect(clock.now() - began).toBeGreaterThanOrEqual((12 * 1_800_000) / 13); // twelve pauses, no shortcut

    const events = await logged();
    expect(events.map((e) => e.key).sort()).toEqual([...ids].sort());
    expect(events.filter((e) => e.data.running === 1).map((e) => e.key)).toEqual([ids[1200]]);
    expect(new Set(events.map((e) => e.at))).toEqual(new Set([began])); // the moment the round began
  });

  it('a lost worker gets no status; an interval of 0 turns them off', async () => {
    expect((await open({ workerStatusIntervalMs: 0 })).workerStatus).toBeNull();
    const clock = new ManualClock();
    const docket = await open({ clock, heartbeatTimeoutMs: 1000 });
    const lost = await docket.workers.register({ queues: ['default'] });
    clock.advance(2000);
    expect((await docket.workers.sweep(1000)).map((w) => w.id)).toEqual([lost]);
    expect(await docket.workerStatus!.runOnce()).toBe(0);
    expect((await workerEvents(docket)).map((e) => e.type)).toEqual(['registered', 'heartbeat-lost']);
  });

  it('an in-process worker given the directory registers, heartbeats, and says deregistered when it stops cleanly', async () => {
    const docket = await open();
    const worker = new Worker({ transport: new LocalTransport(docket.jobs, docket.workers), handlers: { a: async () => ({ ok: true }) }, name: 'in-process', heartbeatMs: 100, logger: pino({ level: 'silent' }) });
    defer(() => worker.close(100));
    await worker.start();
    const id = worker.id;
    expect((await docket.workers.list()).map((w) => [w.id, w.name, w.status])).toEqual([[id, 'in-process', 'active']]);
    const first = (await docket.workers.get(id))!.lastHeartbeatAt;
    await until('a heartbeat reached the directory', async () => ((await docket.workers.get(id))!.lastHeartbeatAt > first ? true : undefined), 5000, 20);
    await worker.close();
    // The goodbye is logged by close(); the log's reader sees it once the relay has positioned it.
    const seen = await until('the goodbye in the log', async () => {
      const events = await workerEvents(docket);
      return events.some((e) => e.type === 'deregistered') ? events : undefined;
    });
    expect(seen.map((e) => [e.type, e.key])).toEqual([
      ['registered', id],
      ['deregistered', id],
    ]);
    expect(await docket.workers.list()).toEqual([]);
  });
});
