// The in-process Worker (LocalTransport) on both deployments: embedded (SQLite + memory dispatch)
// and production (PostgreSQL + Redis), as `docket worker` would run beside either engine.
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker, type Handler } from '../src/sdk/worker.js';
import { PermanentError } from '../src/sdk/errors.js';
import { pino } from 'pino';
import type { Job } from '../src/domain/job.js';
import { deployments } from './helpers/deployments.js';
import { until, within } from './helpers/process.js';

const silent = pino({ level: 'silent' });
/** What the engine's loops and the workers reported as trouble: every test ends with none. */
const troubles: unknown[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  expect(troubles.splice(0)).toEqual([]);
});

/** Resolves when the job reaches one of the states (lifecycle events, no polling). */
function settled(docket: Docket, id: string, states = ['succeeded', 'failed', 'cancelled', 'expired']): Promise<Job> {
  return within(`job ${id} to reach ${states.join('/')}`, new Promise((resolve) => {
    void docket.jobs.queries.get(id).then((j) => j && states.includes(j.state) && resolve(j));
    const off = docket.jobs.transitions.lifecycle.on((e) => {
      if (e.job.id === id && states.includes(e.to)) {
        off();
        resolve(e.job);
      }
    });
  }));
}

describe.each(deployments((c) => cleanups.push(c), { leaseMs: 5000, onError: (e) => troubles.push(e) }))('Worker (in-process), $name', (deployment) => {
  async function open(): Promise<Docket> {
    const docket = await deployment.open();
    cleanups.push(() => docket.close());
    return docket;
  }

  /** A started worker on the engine's service; closed after the test, before the engine. */
  async function work(docket: Docket, handlers: Record<string, Handler>, opts: Partial<ConstructorParameters<typeof Worker>[0]> = {}): Promise<Worker> {
    const worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers, logger: silent, onError: (err, what) => troubles.push({ what, err }), ...opts });
    cleanups.push(() => worker.close(100));
    return worker.start();
  }

  it('runs a handler by type and stores its result', async () => {
    const docket = await open();
    await work(docket, { double: async (job) => ({ n: (job.payload as { n: number }).n * 2 }) });
    const [job] = await docket.jobs.submitter.submit([{ type: 'double', payload: { n: 21 } }], { tenant: 't' });
    const done = await settled(docket, job!.id);
    expect(done.state).toBe('succeeded');
    expect((await docket.jobs.queries.get(job!.id))!.result).toEqual({ n: 42 });
  });

  it('reports progress while the job runs', async () => {
    const docket = await open();
    let seen: unknown;
    await work(docket, {
      steps: async (job, ctx) => {
        await ctx.progress(50, 'half way');
        seen = (await docket.jobs.queries.get(job.id))!.progress;
      },
    });
    const [job] = await docket.jobs.submitter.submit([{ type: 'steps' }], { tenant: 't' });
    expect((await settled(docket, job!.id)).state).toBe('succeeded');
    expect(seen).toEqual({ percent: 50, message: 'half way' });
  });

  it('fires the AbortSignal on timeout and counts the attempt as failed', async () => {
    const docket = await open();
    let reason: unknown;
    await work(docket, {
      slow: (_job, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((reason = signal.reason)))),
    });
    const [job] = await docket.jobs.submitter.submit([{ type: 'slow', timeoutMs: 50, maxAttempts: 1 }], { tenant: 't' });
    const done = await settled(docket, job!.id);
    expect(done.state).toBe('failed');
    expect(done.errors[0]).toMatchObject({ code: 'timeout', attempt: 1 });
    expect((reason as Error).name).toBe('TimeoutError');
  });

  it('aborts a running handler when its job is cancelled, and records no outcome', async () => {
    const docket = await open();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let aborted: unknown;
    await work(docket, {
      wait: (_job, { signal }) =>
        new Promise((_, reject) => {
          started();
          signal.addEventListener('abort', () => reject((aborted = signal.reason)));
        }),
    });
    const [job] = await docket.jobs.submitter.submit([{ type: 'wait' }], { tenant: 't' });
    await within('the handler to start', running);
    expect((await docket.jobs.cancels.cancel(job!.id)).ok).toBe(true);
    // In-process the cancel itself aborts the handler: no heartbeat needed, nothing to wait for.
    expect((aborted as Error).name).toBe('CancelledError');
    const stored = await docket.jobs.queries.get(job!.id);
    expect(stored).toMatchObject({ state: 'cancelled', errors: [] });
    expect(stored!.result).toBeUndefined();
  });

  it('fails at once on PermanentError and retries plain errors', async () => {
    const docket = await open();
    let plainCalls = 0;
    await work(docket, {
      permanent: async () => {
        throw new PermanentError('bad card', 'card_declined');
      },
      plain: async () => {
        if (++plainCalls === 1) throw new Error('flaky');
        return 'ok';
      },
    });
    const [job, plain] = await docket.jobs.submitter.submit(
      [
        { type: 'permanent', maxAttempts: 5 },
        { type: 'plain', maxAttempts: 5, backoff: { type: 'fixed', delayMs: 0 } },
      ],
      { tenant: 't' },
    );
    const done = await settled(docket, job!.id);
    expect(done.state).toBe('failed');
    expect(done.attempt).toBe(1);
    expect(done.stateReason).toBe('permanent_error');
    expect(await settled(docket, plain!.id)).toMatchObject({ state: 'succeeded', attempt: 2, result: 'ok' });
  });

  it('graceful shutdown gives unfinished jobs back without counting the attempt', async () => {
    const docket = await open();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const worker = await work(docket, { hang: () => (started(), new Promise(() => {})) });
    const [job] = await docket.jobs.submitter.submit([{ type: 'hang', maxAttempts: 1 }], { tenant: 't' });
    await within('the handler to start', running);
    expect((await docket.jobs.queries.get(job!.id))!.state).toBe('running');
    await worker.close(20);
    const after = await docket.jobs.queries.get(job!.id);
    expect(after!.state).toBe('ready');
    expect(after!.attempt).toBe(0);
  });

  it('gives each priority-range pool its share of starts under a mixed load', { timeout: 60_000 }, async () => {
    const docket = await open();
    // Load the queue first, then start the worker on a full queue.
    const inputs = Array.from({ length: 3000 }, (_, i) => ({ type: 'work', priority: [2, 5, 9][i % 3]! }));
    for (let i = 0; i < inputs.length; i += 1000) await docket.jobs.submitter.submit(inputs.slice(i, i + 1000), { tenant: 't' });
    const byRange: Record<string, number> = { '1-3': 0, '4-7': 0, '8-10': 0 };
    // Each job takes 5 ms: the pools must be busy at once for their shares to show (pacing, not a wait).
    const worker = new Worker({
      transport: new LocalTransport(docket.jobs),
      handlers: { work: () => new Promise((r) => setTimeout(r, 5)) },
      logger: silent,
      onError: (err, what) => troubles.push({ what, err }),
      concurrency: { '1-3': 8, '4-7': 4, '8-10': 2 },
    });
    cleanups.push(() => worker.close(1000));
    let total = 0;
    const enough = new Promise<void>((resolve) =>
      worker.on('started', (job: Job) => {
        byRange[job.priority <= 3 ? '1-3' : job.priority <= 7 ? '4-7' : '8-10']!++;
        if (++total === 700) resolve();
      }),
    );
    await worker.start();
    await within('700 starts', enough, 45_000);
    // 8:4:2 slots with equal run times: 4/7, 2/7 and 1/7 of the starts while every range has work.
    expect(byRange['1-3']! / total).toBeGreaterThan(0.5);
    expect(byRange['1-3']! / total).toBeLessThan(0.65);
    expect(byRange['4-7']! / total).toBeGreaterThan(0.22);
    expect(byRange['4-7']! / total).toBeLessThan(0.35);
    expect(byRange['8-10']! / total).toBeGreaterThan(0.1);
    expect(byRange['8-10']! / total).toBeLessThan(0.19);
  });

  for (const slots of [1, 8]) {
    it(`runs exactly ${slots} handler(s) at once on a deep queue, never more; freed slots are claimed in batches of a quarter`, async () => {
      // Each handler holds until the test lets it go; `active` counts handlers inside their body.
      const gates: (() => void)[] = [];
      let active = 0;
      let peak = 0;
      const hold = () =>
        new Promise<void>((resolve) => {
          peak = Math.max(peak, ++active);
          gates.push(() => {
            active--;
            resolve();
          });
        });
      const docket = await open();
      await work(docket, { hold }, { concurrency: slots });
      const total = 3 * slots;
      const jobs = await docket.jobs.submitter.submit(Array.from({ length: total }, () => ({ type: 'hold' })), { tenant: 't' });
      await until(`${slots} handlers running`, () => (active === slots ? true : undefined), 5000, 10);
      // A quarter of the slots (at least one) freed at a time: exactly that many start again.
      const batch = Math.max(1, Math.floor(slots / 4));
      for (let finished = batch; finished <= total; finished += batch) {
        for (let i = 0; i < batch; i++) gates.shift()!();
        const running = Math.min(slots, total - finished);
        await until(`${running} handlers running after ${finished} finished`, () => (active === running ? true : undefined), 5000, 10);
      }
      expect(peak).toBe(slots);
      for (const j of jobs) expect(await settled(docket, j.id)).toMatchObject({ state: 'succeeded' });
    });
  }
});
