// Multi-step jobs (a job's agenda of steps, each with its own handler) on both deployments:
// embedded (SQLite + memory dispatch) and production (PostgreSQL + Redis). The steps' outputs are
// kept in the job's result between attempts, so each store's persistence of them is under test.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import type { Job, Json } from '../src/domain/job.js';
import { ValidationError } from '../src/domain/errors.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import type { WorkerTransport } from '../src/sdk/transport.js';
import { Worker, type Handler, type HandlerContext } from '../src/sdk/worker.js';
import { adminToken, testAuth } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';
import { within } from './helpers/process.js';

const silent = pino({ level: 'silent' });
/** What the engine's loops and the workers reported as trouble: every test ends with none. */
const troubles: unknown[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  expect(troubles.splice(0)).toEqual([]);
});

function settled(d: Docket, id: string, states = ['succeeded', 'failed', 'cancelled', 'expired']): Promise<Job> {
  return within(`job ${id} to reach ${states.join('/')}`, new Promise((resolve) => {
    void d.jobs.queries.get(id).then((j) => j && states.includes(j.state) && resolve(j));
    const off = d.jobs.transitions.lifecycle.on((e) => {
      if (e.job.id === id && states.includes(e.to)) {
        off();
        resolve(e.job);
      }
    });
  }));
}

/** Handlers that record every call: step type, payload and ctx.step. */
function recording(fail: { type: string; times: number } | null = null) {
  const calls: { type: string; payload: Json; step: HandlerContext['step'] }[] = [];
  let failures = 0;
  const handler =
    (out: (p: any) => Json): Handler =>
    (job, ctx) => {
      calls.push({ type: job.type, payload: job.payload, step: ctx.step && { ...ctx.step, previousResults: [...ctx.step.previousResults] } });
      if (fail && job.type === fail.type && failures < fail.times) {
        failures++;
        throw new Error(`${job.type} broke`);
      }
      return out(job.payload);
    };
  const handlers: Record<string, Handler> = {
    fetch: handler((p) => ({ file: `${p.url}.raw` })),
    transcode: handler((p) => ({ file: `out.${p.format}` })),
    publish: handler(() => 'published'),
  };
  return { calls, handlers };
}

const AGENDA = [
  { type: 'fetch', payload: { url: 'media/1' } },
  { type: 'transcode', payload: { format: 'mp4' } },
  { type: 'publish' },
];

describe.each(deployments((c) => cleanups.push(c), { leaseMs: 5000, onError: (e) => troubles.push(e) }))('multi-step jobs, $name', (deployment) => {
  async function open(): Promise<Docket> {
    const docket = await deployment.open();
    cleanups.push(() => docket.close());
    return docket;
  }

  /** A started worker; closed after the test, before the engine. */
  async function startWorker(d: Docket, handlers: Record<string, Handler>, transport: WorkerTransport = new LocalTransport(d.jobs)): Promise<Worker> {
    const worker = new Worker({ transport, handlers, logger: silent, pollWaitMs: 200, onError: (err, what) => troubles.push({ what, err }) });
    cleanups.push(() => worker.close(100));
    return worker.start();
  }

  it('validates steps: each type a valid name, 1..50 steps, not with payload; type defaults to the first step', async () => {
    const docket = await open();
    const submit = (input: unknown) => docket.jobs.submitter.submit([input], { tenant: 't' });
    const issues = async (input: unknown) => {
      try {
        await submit(input);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues.map((i) => i.path);
      }
      throw new Error('accepted');
    };
    expect(await issues({ steps: [{ type: 'a' }, { type: 'b' }, { type: 'bad name' }] })).toContain('/steps/2/type');
    expect(await issues({ steps: [] })).toContain('/steps');
    expect(await issues({ steps: Array.from({ length: 51 }, () => ({ type: 'a' })) })).toContain('/steps');
    expect(await issues({ steps: [{ type: 'a' }], payload: { x: 1 } })).toContain('/payload');
    expect(await issues({ type: 'x', payload: { $steps: [] } })).toContain('/payload/$steps');
    const [job] = await submit({ steps: AGENDA });
    expect(job).toMatchObject({ type: 'fetch', payload: { $steps: [AGENDA[0], AGENDA[1], { type: 'publish', payload: {} }] } });
    // As stored: what a worker will be handed.
    expect((await docket.jobs.queries.get(job!.id))!.payload).toEqual({ $steps: [AGENDA[0], AGENDA[1], { type: 'publish', payload: {} }] });
    const [named] = await submit({ type: 'agenda', steps: AGENDA });
    expect(named!.type).toBe('agenda');
  });

  it('runs the steps in order with their payloads, counts progress in steps, and results in every output', async () => {
    const r = recording();
    const d = await open();
    await startWorker(d, r.handlers);
    const [job] = await d.jobs.submitter.submit([{ steps: AGENDA }], { tenant: 't' });
    const done = await settled(d, job!.id);
    expect(done.state).toBe('succeeded');
    expect(r.calls.map((c) => c.type)).toEqual(['fetch', 'transcode', 'publish']);
    expect(r.calls.map((c) => c.payload)).toEqual([{ url: 'media/1' }, { format: 'mp4' }, {}]);
    expect(r.calls.map((c) => c.step)).toEqual([
      { index: 0, count: 3, previousResults: [] },
      { index: 1, count: 3, previousResults: [{ file: 'media/1.raw' }] },
      { index: 2, count: 3, previousResults: [{ file: 'media/1.raw' }, { file: 'out.mp4' }] },
    ]);
    expect(done.result).toEqual([{ file: 'media/1.raw' }, { file: 'out.mp4' }, 'published']);
    const stored = await d.jobs.queries.get(job!.id);
    expect(stored!.progress).toEqual({ percent: 100, message: 'step 3/3: publish' });
  });

  it('reports progress after each step as done/count, and the engine keeps the outputs reported', async () => {
    const docket = await open();
    const service = docket.jobs;
    const reports: unknown[] = [];
    /** How many outputs the engine had kept, as each report's ack says. */
    const kept: number[] = [];
    const local = new LocalTransport(service);
    const transport: WorkerTransport = Object.assign(Object.create(local), {
      stepProgress: async (...args: Parameters<NonNullable<WorkerTransport['stepProgress']>>) => {
        reports.push([args[1], args[2], args[3]?.length]);
        const ack = await local.stepProgress(...args);
        kept.push(ack.outputs.length);
        return ack;
      },
    });
    const r = recording();
    await startWorker(docket, r.handlers, transport);
    const [job] = await service.submitter.submit([{ steps: AGENDA }], { tenant: 't' });
    expect((await settled(docket, job!.id)).state).toBe('succeeded');
    expect(reports).toEqual([
      [0, 'step 1/3: fetch', undefined],
      [33.33, 'step 1/3: fetch', 1],
      [66.67, 'step 2/3: transcode', 2],
      [100, 'step 3/3: publish', 3],
    ]);
    expect(kept).toEqual([0, 1, 2, 3]);
  });

  it('retries from the failed step: earlier steps ran once and their outputs are passed on', async () => {
    const r = recording({ type: 'transcode', times: 1 });
    const d = await open();
    await startWorker(d, r.handlers);
    const [job] = await d.jobs.submitter.submit([{ steps: AGENDA, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 0 } }], { tenant: 't' });
    const done = await settled(d, job!.id);
    expect(done.state).toBe('succeeded');
    expect(done.attempt).toBe(2);
    expect(r.calls.map((c) => c.type)).toEqual(['fetch', 'transcode', 'transcode', 'publish']);
    expect(r.calls[2]!.step).toEqual({ index: 1, count: 3, previousResults: [{ file: 'media/1.raw' }] });
    expect(done.result).toEqual([{ file: 'media/1.raw' }, { file: 'out.mp4' }, 'published']);
    const stored = await d.jobs.queries.get(job!.id);
    expect(stored!.errors.map((e) => e.message)).toEqual(['transcode broke']);
  });

  it('keeps the outputs of the steps done when the job fails for good', async () => {
    const r = recording({ type: 'publish', times: 9 });
    const d = await open();
    await startWorker(d, r.handlers);
    const [job] = await d.jobs.submitter.submit([{ steps: AGENDA, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 0 } }], { tenant: 't' });
    const done = await settled(d, job!.id);
    expect(done.state).toBe('failed');
    expect(r.calls.map((c) => c.type)).toEqual(['fetch', 'transcode', 'publish', 'publish']);
    expect((await d.jobs.queries.get(job!.id))!.result).toEqual([{ file: 'media/1.raw' }, { file: 'out.mp4' }]);
  });

  it('fails like no_handler when a step type has no handler, running nothing', async () => {
    const r = recording();
    const d = await open();
    await startWorker(d, { fetch: r.handlers.fetch! });
    const [job] = await d.jobs.submitter.submit([{ steps: AGENDA, maxAttempts: 5 }], { tenant: 't' });
    const done = await settled(d, job!.id);
    expect(done.state).toBe('failed');
    expect(r.calls).toEqual([]);
    const stored = await d.jobs.queries.get(job!.id);
    expect(stored!.errors).toHaveLength(1);
    expect(stored!.errors[0]).toMatchObject({ code: 'no_handler' });
    expect(stored!.errors[0]!.message).toContain('"transcode"');
  });

  it('runs over HTTP too: a remote worker resumes a retried job at the failed step', async () => {
    const docket = await open();
    const app: FastifyInstance = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
    cleanups.push(() => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const token = await adminToken();
    const client = new DocketClient({ baseUrl: base, token });
    const bad = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ steps: [{ type: 'a' }, { type: 'b' }, { type: 'no good' }] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toContain('/steps/2/type');
    const r = recording({ type: 'publish', times: 1 });
    await startWorker(docket, r.handlers, new HttpTransport({ baseUrl: base, token }));
    const submitted = await client.submit({ steps: AGENDA, backoff: { type: 'fixed', delayMs: 0 } });
    expect(submitted.type).toBe('fetch');
    const done = await settled(docket, submitted.id);
    expect(done.state).toBe('succeeded');
    expect(r.calls.map((c) => c.type)).toEqual(['fetch', 'transcode', 'publish', 'publish']);
    expect(r.calls[3]!.step!.previousResults).toEqual([{ file: 'media/1.raw' }, { file: 'out.mp4' }]);
    expect((await client.get(submitted.id)).result).toEqual([{ file: 'media/1.raw' }, { file: 'out.mp4' }, 'published']);
  });
});
