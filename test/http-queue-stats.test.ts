// GET /v1/queues/stats over real HTTP: the dashboard's overview data, scoped like /v1/queues. On
// both deployments (embedded; PostgreSQL + Redis): the counts, series and oldest ready job are the
// store's queries.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';

const { onBoth, start: serve } = both();

const MIN = 60_000;
/** 09:00:30 UTC: half a minute into a slot. */
const START = Date.UTC(2026, 0, 1, 9, 0, 30);

async function start() {
  const clock = new ManualClock(START);
  const { base } = await serve({ clock }, () => ({ ui: false }));
  const as = async (tenant: string, ...roles: Parameters<typeof tokenFor>[1]) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, roles) });
  return { clock, acme: await as('acme', 'submitter'), worker: await as('acme', 'worker'), admin: await as('ops', 'admin'), other: await as('globex', 'viewer') };
}

type Stats = {
  since: string;
  until: string;
  bucketSeconds: number;
  queues: { name: string; counts: Record<string, number>; finished: Record<string, number>; failureRate: number | null; oldestReadyAt: string | null; oldestReadyAgeMs: number | null; series: { at: string; succeeded: number; failed: number }[] }[];
};

onBoth('GET /v1/queues/stats', () => {
  it('gives per queue the depth, jobs finished per minute, failure rate and the oldest ready job, for the caller\'s tenant', async () => {
    const { clock, acme, worker, admin, other } = await start();
    // Minute 0: two succeed. Minute 2: one fails for good. One stays ready since minute 0.
    const done = await acme.submitBulk([{ type: 'a', queue: 'mail' }, { type: 'a', queue: 'mail' }, { type: 'b', queue: 'mail', maxAttempts: 1 }]);
    for (const c of await worker.claim('mail', 'w1', { max: 2 })) await worker.complete(c.id, c.leaseToken, { ok: true });
    clock.advance(2 * MIN);
    const [bad] = await worker.claim('mail', 'w1', { max: 1 });
    expect(bad!.id).toBe(done[2]!.id);
    await worker.fail(bad!.id, bad!.leaseToken, { error: { message: 'boom' }, retryable: false });
    clock.advance(10_000);
    const waiting = await acme.submit({ type: 'c', queue: 'video', delayMs: 0 });
    clock.advance(5_000);

    const stats = await acme.request<Stats>('GET', '/v1/queues/stats?minutes=5');
    expect(stats).toMatchObject({ bucketSeconds: 60, since: new Date(Date.UTC(2026, 0, 1, 8, 58)).toISOString(), until: new Date(START + 2 * MIN + 15_000).toISOString() });
    const mail = stats.queues.find((q) => q.name === 'mail')!;
    expect(mail).toMatchObject({ counts: { succeeded: 2, failed: 1 }, finished: { succeeded: 2, failed: 1, cancelled: 0, expired: 0 }, failureRate: 1 / 3, oldestReadyAt: null, oldestReadyAgeMs: null });
    expect(mail.series.map((s) => [s.at.slice(11, 16), s.succeeded, s.failed])).toEqual([
      ['08:58', 0, 0],
      ['08:59', 0, 0],
      ['09:00', 2, 0],
      ['09:01', 0, 0],
      ['09:02', 0, 1],
    ]);
    const video = stats.queues.find((q) => q.name === 'video')!;
    expect(video).toMatchObject({ counts: { ready: 1 }, failureRate: null, oldestReadyAgeMs: 5_000 });
    expect(Date.parse(video.oldestReadyAt!)).toBe(Date.parse(waiting.runAt));

    // Another tenant sees none of it; an admin sees every tenant.
    expect((await other.request<Stats>('GET', '/v1/queues/stats')).queues).toEqual([]);
    expect((await admin.request<Stats>('GET', '/v1/queues/stats')).queues.map((q) => q.name)).toEqual(['mail', 'video']);
    // Sixty one-minute slots by default.
    expect((await acme.request<Stats>('GET', '/v1/queues/stats')).queues[0]!.series).toHaveLength(60);
  });
});

// The window is checked by the route's query schema before the engine is asked: the server's alone, embedded only.
describe('GET /v1/queues/stats, a bad window', () => {
  it('names a bad window', async () => {
    const { acme } = await start();
    const err = await acme.request('GET', '/v1/queues/stats?minutes=0').catch((e: DocketApiError) => e);
    expect(err).toBeInstanceOf(DocketApiError);
    expect((err as DocketApiError).problem).toMatchObject({ status: 400, errors: [{ path: '/minutes' }] });
  });
});
