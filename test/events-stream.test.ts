// Lifecycle events as users receive them: the SSE stream over real HTTP (tenant-filtered,
// resumable with Last-Event-ID) and the relay publishing the log to an event bus.
import { expect, it } from 'vitest';
import { MemoryEventBus } from '../src/adapters/memory/memory-event-bus.js';
import type { Docket } from '../src/app/docket.js';
import type { EventEnvelope, ReceivedEvent } from '../src/ports/event-bus.js';
import { DocketClient } from '../src/sdk/client.js';
import type { StreamOptions } from '../src/sdk/event-stream.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';
import { until } from './helpers/process.js';

// On both deployments (embedded; PostgreSQL + Redis): the log is the store's, positioned by the
// relay (SQLite as it is written, PostgreSQL in the relay's runs), and the streams wake on it.
const { onBoth, start: serve, defer } = both();
let docket: Docket;
/** Streams whose response has started: the server pinned where each one starts before answering. */
let opened = 0;
const counting: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (String(input).includes('/v1/events/stream') && res.ok) opened++;
  return res;
};

async function start(bus?: MemoryEventBus) {
  const started = await serve({ events: { bus: bus ?? null, source: '/docket/test' } }, (d) => ({
    events: { log: d.store.events, source: d.relay.source, onPositioned: (l) => d.relay.onPositioned(l) },
  }));
  docket = started.docket;
  const base = started.base;
  opened = 0;
  const as = async (tenant: string, ...roles: Parameters<typeof tokenFor>[1]) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, roles), fetch: counting });
  return { base, acme: await as('acme', 'submitter'), viewer: await as('acme', 'viewer'), worker: await as('acme', 'worker'), other: await as('globex', 'submitter'), admin: await as('ops', 'admin') };
}

/** Collects a stream's events in the background; `until` waits for a condition on them. */
function collect(client: DocketClient, options: StreamOptions = {}) {
  const stop = new AbortController();
  defer(() => stop.abort());
  const got: EventEnvelope[] = [];
  const done = (async () => {
    for await (const e of client.streamEvents({ ...options, signal: stop.signal })) got.push(e);
  })();
  return {
    got,
    done,
    until: (what: string, test: (got: EventEnvelope[]) => boolean) => until(what, () => (test(got) ? got : undefined), 10_000, 20),
  };
}

/** Runs one job of `client`'s tenant through a remote worker. */
async function runOne(client: DocketClient, worker: DocketClient, payload: object = {}) {
  const job = await client.submit({ type: 'send', payload });
  const [claimed] = await worker.claim('default', 'w1', { max: 1, waitMs: 1000 });
  await worker.reportProgress(claimed!.id, claimed!.leaseToken!, 50, 'half way');
  await worker.complete(claimed!.id, claimed!.leaseToken!, { sent: true });
  return job;
}

onBoth('GET /v1/events/stream (SSE)', () => {
  it("streams the caller's tenant's job events live and in order, each with its log position as id", async () => {
    const { acme, worker, other } = await start();
    const mine = collect(acme);
    const theirs = collect(other);
    // The stream starts at the present: wait until both are open (answered) before anything happens.
    await until('both streams to open', () => (opened === 2 ? true : undefined), 10_000, 10);
    const job = await runOne(acme, worker);
    const events = await mine.until('the job to succeed on the stream', (g) => g.some((e) => e.type === 'docket.job.succeeded'));
    expect(events.map((e) => e.type)).toEqual(['docket.job.submitted', 'docket.job.started', 'docket.job.progress', 'docket.job.succeeded']);
    expect(events.every((e) => e.subject === job.id && e.tenant === 'acme' && e.source === '/docket/test' && e.specversion === '1.0')).toBe(true);
    expect(events[2]!.data).toMatchObject({ progress: { percent: 50, message: 'half way' } });
    expect(events[3]!.data).toMatchObject({ jobId: job.id, state: 'succeeded', previousState: 'running', attempt: 1 });
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // The other tenant saw none of it: its first event is its own job's.
    const own = await other.submit({ type: 'send' });
    const seen = await theirs.until("globex's own job", (g) => g.length > 0);
    expect(seen.map((e) => e.subject)).toEqual([own.id]);
  });

  it('resumes after Last-Event-ID, filters by type and job, and refuses a bad id', async () => {
    const { acme, worker, viewer, base } = await start();
    const job = await runOne(acme, worker);
    const all = collect(acme, { lastEventId: '0' });
    const history = await all.until('the history', (g) => g.some((e) => e.type === 'docket.job.succeeded'));
    const submitted = history.find((e) => e.type === 'docket.job.submitted')!;

    const resumed = collect(viewer, { lastEventId: submitted.id });
    expect((await resumed.until('the rest', (g) => g.length >= 3)).map((e) => e.type)).toEqual(['docket.job.started', 'docket.job.progress', 'docket.job.succeeded']);

    const second = await runOne(acme, worker);
    const done = collect(acme, { lastEventId: '0', types: ['docket.job.succeeded'], jobId: second.id });
    const only = await done.until('the second job done', (g) => g.length > 0);
    expect(only.map((e) => [e.type, e.subject])).toEqual([['docket.job.succeeded', second.id]]);
    expect(job.id).not.toBe(second.id);

    const bad = await fetch(`${base}/v1/events/stream`, { headers: { authorization: `Bearer ${await tokenFor('acme', ['viewer'])}`, 'last-event-id': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ path: '/headers/last-event-id' }] });
    const workerToken = await fetch(`${base}/v1/events/stream`, { headers: { authorization: `Bearer ${await tokenFor('acme', ['worker'])}` } });
    expect(workerToken.status).toBe(403);
  });

  it('shows worker events (cluster-wide) to admins only', async () => {
    const { admin, acme, worker } = await start();
    const ops = collect(admin, { lastEventId: '0', topics: ['worker-events'] });
    const tenantView = collect(acme, { lastEventId: '0', topics: ['worker-events', 'job-events'] });
    const { id } = await worker.registerWorker({ queues: ['default'], name: 'py-1' });
    await worker.unregisterWorker(id);
    const seen = await ops.until('registered and deregistered', (g) => g.length >= 2);
    expect(seen.map((e) => [e.type, e.subject])).toEqual([
      ['docket.worker.registered', id],
      ['docket.worker.deregistered', id],
    ]);
    expect(seen[0]!.data).toMatchObject({ workerId: id, name: 'py-1', queues: ['default'] });
    // The tenant's stream reads the same log: once it shows a job event logged after those worker
    // events, it has passed them, and shows none.
    const marker = await acme.submit({ type: 'marker' });
    const passed = await tenantView.until('the marker job on the tenant stream', (g) => g.some((e) => e.subject === marker.id));
    expect(passed.map((e) => [e.type, e.subject])).toEqual([['docket.job.submitted', marker.id]]);
  });
});

onBoth('event relay', () => {
  it('publishes the log to the bus: per job in order, keyed by job id, ids are log positions', async () => {
    const bus = new MemoryEventBus();
    const { acme, worker, base } = await start(bus);
    const received: ReceivedEvent[] = [];
    await bus.subscribe(['job-events'], 'test', async (r) => void received.push(r));
    const job = await runOne(acme, worker);
    await until('the job on the bus', () => (received.some((r) => r.event.type === 'docket.job.succeeded') ? true : undefined), 10_000, 20);
    expect(received.map((r) => r.event.type)).toEqual(['docket.job.submitted', 'docket.job.started', 'docket.job.progress', 'docket.job.succeeded']);
    expect(received.every((r) => r.key === job.id && r.event.subject === job.id)).toBe(true);
    const logged = await docket.store.events.read(0, 100, { topics: ['job-events'] });
    expect(received.map((r) => r.event.id)).toEqual(logged.map((e) => String(e.pos)));
    // The relay moves its cursor after the bus took the events (at-least-once): a moment after they arrive.
    const last = logged.at(-1)!.pos;
    await until('the bus cursor to pass the job', async () => ((await docket.store.events.cursor('bus')) ?? 0) >= last || undefined, 10_000, 20);
    expect(await docket.store.events.cursor('bus')).toBe(last);

    // Operators see how far the log is and how far behind its readers are.
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${await tokenFor('ops', ['admin'])}` } })).text();
    expect(await docket.store.events.lastPosition()).toBe(last);
    expect(metrics).toContain(`docket_event_log_position ${last}`);
    expect(metrics).toMatch(/docket_event_reader_lag_events\{reader="bus"\} 0\b/);
  });
});
