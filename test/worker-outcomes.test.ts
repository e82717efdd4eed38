// What a Worker records for the ways a handler ends (no handler, a thrown non-Error, a transient
// condition), what it does when the server refuses or cannot take a report, and its shutdown, on
// both deployments through a remote worker's HttpTransport (the server's worker API).
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient, type JobReply } from '../src/sdk/client.js';
import { LeaseLostError, ShutdownError, TransientError } from '../src/sdk/errors.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import type { WorkerTransport } from '../src/sdk/transport.js';
import { Worker, type WorkerOptions } from '../src/sdk/worker.js';
import { adminToken, testAuth } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';
import { until, within } from './helpers/process.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A logger that keeps its lines (JSON objects) for the test to read. */
function keptLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** Resolves once `probe` no longer throws (a bounded wait on the engine's state). */
const settled = (what: string, probe: () => Promise<boolean>) => until(what, async () => ((await probe()) ? true : undefined), 15_000);

for (const { name, open } of deployments((c) => cleanups.push(c))) {
  describe(`Worker outcomes: ${name}`, () => {
    let docket: Docket;
    let app: FastifyInstance;
    let client: DocketClient;
    let base: string;
    let token: string;

    async function start(): Promise<void> {
      docket = await open();
      cleanups.push(() => docket.stop());
      app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), ui: false });
      cleanups.push(() => app.close());
      base = await app.listen({ host: '127.0.0.1', port: 0 });
      token = await adminToken();
      client = new DocketClient({ baseUrl: base, token });
    }

    function worker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'handlers'>): Worker {
      const w = new Worker({ transport: new HttpTransport({ baseUrl: base, token }), logger: pino({ level: 'silent' }), pollWaitMs: 1000, ...options });
      cleanups.push(() => w.close(0));
      return w;
    }

    const finished = (id: string, state: string) => settled(`job ${id} ${state}`, async () => (await client.get(id)).state === state);

    it('a job of a type without a handler fails for good, naming the type and the worker', async () => {
      await start();
      const named = await worker({ handlers: {}, name: 'w-named', queues: ['a'] }).start();
      const job = await client.submit({ type: 'resize', queue: 'a', payload: {}, maxAttempts: 3 });
      await finished(job.id, 'failed');
      expect((await client.get(job.id)).errors).toMatchObject([{ message: 'no handler for job type "resize" on worker w-named', code: 'no_handler', attempt: 1 }]);
      const unnamed = await worker({ handlers: {}, queues: ['b'] }).start();
      const other = await client.submit({ type: 'crop', queue: 'b', payload: {} });
      await finished(other.id, 'failed');
      expect((await client.get(other.id)).errors[0]!.message).toBe(`no handler for job type "crop" on worker ${unnamed.id}`);
      // Registered without a name, the worker shows none.
      const listed = await client.workers();
      expect(listed.find((w) => w.id === named.id)?.name).toBe('w-named');
      expect(listed.find((w) => w.id === unnamed.id)?.name ?? null).toBeNull();
    });

    it('a thrown string, an Error without a message and a non-string code are recorded as what they say', async () => {
      await start();
      await worker({
        handlers: {
          text: () => {
            throw 'disk full';
          },
          bare: () => {
            throw new RangeError('');
          },
          coded: () => {
            throw Object.assign(new Error('refused'), { code: 111 });
          },
        },
      }).start();
      const [text, bare, coded] = await client.submitBulk(['text', 'bare', 'coded'].map((type) => ({ type, payload: {}, maxAttempts: 1 })));
      for (const j of [text!, bare!, coded!]) await finished(j.id, 'failed');
      const last = async (j: JobReply) => (await client.get(j.id)).errors.at(-1);
      expect(await last(text!)).toMatchObject({ message: 'disk full' });
      expect(await last(bare!)).toMatchObject({ message: 'RangeError' });
      const codedError = await last(coded!);
      expect(codedError).toMatchObject({ message: 'refused' });
      expect(codedError).not.toHaveProperty('code');
    });

    it('a TransientError parks the job under its condition without counting the attempt as a failure for good', async () => {
      await start();
      const w = await worker({
        handlers: {
          charge: () => {
            throw new TransientError('service:payments-api', 'payments API down', 'http_503');
          },
        },
      }).start();
      const job = await client.submit({ type: 'charge', payload: {}, maxAttempts: 1 });
      const [failedJob, failure] = await within('the failed event', once(w, 'failed'));
      expect(failedJob.id).toBe(job.id);
      expect(failure).toMatchObject({ message: 'payments API down', code: 'http_503', condition: 'service:payments-api', name: 'TransientError' });
      await finished(job.id, 'blocked');
      expect(await client.get(job.id)).toMatchObject({ condition: 'service:payments-api' });
    });

    it('a job cancelled while it runs: a progress report then aborts its handler (lease lost); a result sent anyway is refused and logged', async () => {
      await start();
      const { logger, lines } = keptLogger();
      const reasons = new Map<string, unknown>();
      const returned: string[] = [];
      const gates = new Map<string, () => void>();
      const w = await worker({
        logger,
        handlers: {
          long: async (job, ctx) => {
            await new Promise<void>((r) => gates.set(job.id, r));
            if ((job.payload as { progress: boolean }).progress) await ctx.progress(50, 'halfway');
            reasons.set(job.id, ctx.signal.aborted ? ctx.signal.reason : null);
            returned.push(job.id);
            return { done: true };
          },
        },
      }).start();
      const reporting = await client.submit({ type: 'long', payload: { progress: true } });
      const silent = await client.submit({ type: 'long', payload: { progress: false } });
      await until('both handlers to start', () => (gates.size === 2 ? true : undefined));
      await client.cancel(reporting.id);
      await client.cancel(silent.id);
      gates.get(reporting.id)!();
      gates.get(silent.id)!();
      await until('both handlers to return', () => (returned.length === 2 ? true : undefined));
      expect(reasons.get(reporting.id)).toBeInstanceOf(LeaseLostError);
      expect(reasons.get(silent.id)).toBeNull();
      await until('the refused completion in the log', () => lines.find((l) => l.jobId === silent.id));
      expect(lines).toContainEqual(expect.objectContaining({ jobId: silent.id, level: 40, msg: 'outcome not recorded: the job is no longer held by this worker' }));
      expect(lines.find((l) => l.jobId === reporting.id && l.msg === 'outcome not recorded: the job is no longer held by this worker')).toBeUndefined();
      for (const j of [reporting, silent]) {
        const now = await client.get(j.id);
        expect(now.state).toBe('cancelled');
        expect(now.result).toBeUndefined();
      }
    });

    it('a report the server cannot take is worker trouble, told to onError with the job', async () => {
      await start();
      const troubles: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const w = await worker({ onError: (_err, what) => troubles.push(what), handlers: { slow: () => gate } }).start();
      const job = await client.submit({ type: 'slow', payload: {} });
      await within('the handler to start', once(w, 'started'));
      const errors = once(w, 'error');
      await app.close();
      release();
      const [err] = await within('the error event', errors);
      expect(err).toBeInstanceOf(Error);
      expect(troubles).toContain(`could not report the outcome of job ${job.id}`);
    });

    it('without onError, trouble (a claim the server cannot take) is logged at error level on the worker\'s logger', async () => {
      await start();
      const { logger, lines } = keptLogger();
      await worker({ logger, handlers: {} }).start();
      await app.close();
      await until('the claim failure in the log', () => lines.find((l) => l.msg === 'claim failed; retrying in 1 s'));
      expect(lines.find((l) => l.msg === 'claim failed; retrying in 1 s')).toMatchObject({ level: 50 });
    });

    it('close: a handler still running after the grace is aborted with ShutdownError and its job given back; a second close does nothing', async () => {
      await start();
      let reason: unknown;
      const w = await worker({
        handlers: {
          stubborn: (_job, ctx) =>
            new Promise<void>((resolve) =>
              ctx.signal.addEventListener('abort', () => {
                reason = ctx.signal.reason;
                resolve();
              }),
            ),
        },
      }).start();
      const job = await client.submit({ type: 'stubborn', payload: {}, maxAttempts: 1 });
      await within('the handler to start', once(w, 'started'));
      await within('close', w.close(0));
      expect(reason).toBeInstanceOf(ShutdownError);
      // Given back without counting the attempt: ready again, and its one attempt still to come.
      expect(await client.get(job.id)).toMatchObject({ state: 'ready', errors: [] });
      await expect(within('a second close', w.close(0))).resolves.toBeUndefined();
    });

    it('a worker with a filter takes only the jobs it names', async () => {
      await start();
      const ran: string[] = [];
      await worker({ filter: { types: ['mediaInfo'] }, handlers: { mediaInfo: (j) => void ran.push(j.id), other: (j) => void ran.push(j.id) } }).start();
      const other = await client.submit({ type: 'other', payload: {} });
      const media = await client.submit({ type: 'mediaInfo', payload: {} });
      await finished(media.id, 'succeeded');
      expect(ran).toEqual([media.id]);
      expect((await client.get(other.id)).state).toBe('ready');
    });

    it('ctx.dependencies() on a transport that cannot read them rejects saying so; ctx.log still logs without a job log', async () => {
      await start();
      const local = new LocalTransport(docket.jobs);
      // A transport written before dependencies and job logs: neither method.
      const older: WorkerTransport = {
        register: (i) => local.register(i),
        claim: (r) => local.claim(r),
        complete: (j, r) => local.complete(j, r),
        fail: (j, f) => local.fail(j, f),
        progress: (j, p, m) => local.progress(j, p, m),
        heartbeat: (id, jobs) => local.heartbeat(id, jobs),
        release: (j) => local.release(j),
        onCancel: (l) => local.onCancel(l),
        unregister: (id) => local.unregister(id),
      };
      const { logger, lines } = keptLogger();
      await worker({
        transport: older,
        logger,
        handlers: {
          needs: async (_job, ctx) => {
            ctx.log.info('looking at dependencies');
            return { deps: await ctx.dependencies() };
          },
        },
      }).start();
      const job = await client.submit({ type: 'needs', payload: {}, maxAttempts: 1 });
      await finished(job.id, 'failed');
      expect((await client.get(job.id)).errors[0]!.message).toBe('this worker transport cannot read dependencies');
      expect(lines).toContainEqual(expect.objectContaining({ jobId: job.id, msg: 'looking at dependencies' }));
      expect((await client.logs(job.id)).lines).toEqual([]);
    });
  });
}
