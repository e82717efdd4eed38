// Job logs (issue 23, docs/logs.md): what a handler writes through ctx.log is kept per job and
// attempt, read back and followed live over HTTP, from in-process and remote HTTP workers, on both
// deployments (embedded SQLite; PostgreSQL + Redis).
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import type { Role } from '../src/auth/roles.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import type { LogLineInfo } from '../src/sdk/log-stream.js';
import { Worker, type Handler } from '../src/sdk/worker.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';
import { until, within } from './helpers/process.js';

// The worker prints warnings only: what the job log keeps does not depend on it.
const quiet = pino({ level: 'warn' }, { write: () => {} });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DEPLOYMENTS = deployments((c) => cleanups.push(c), { maintenanceIntervalMs: 50 });

async function serve(docket: Docket) {
  const app: FastifyInstance = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), events: { log: docket.store.events, source: 'test' } });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanups.push(async () => {
    await app.close();
    await docket.stop();
  });
  const as = async (tenant: string, role: Role) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, [role]) });
  return { base, as, admin: await as('ops', 'admin') };
}

function startWorker(transport: ConstructorParameters<typeof Worker>[0]['transport'], handlers: Record<string, Handler>, queues = ['default']) {
  const w = new Worker({ transport, handlers, queues, logger: quiet, heartbeatMs: 200, pollWaitMs: 200 });
  cleanups.push(() => w.close(1000));
  return w.start();
}

/** The job's final state, once it has one. */
function settled(client: DocketClient, id: string): Promise<string> {
  return until(`job ${id} to finish`, async () => {
    const { state } = await client.get(id);
    return ['succeeded', 'failed', 'cancelled'].includes(state) ? state : undefined;
  });
}

const texts = (lines: LogLineInfo[]) => lines.map((l) => `${l.attempt}:${l.level}:${l.message}`);

describe.each(DEPLOYMENTS)('job logs, $name', (deployment) => {
  it('keeps an in-process handler\'s lines per attempt, with fields, and filters them by attempt and level', async () => {
    const docket = await deployment.open();
    const { as } = await serve(docket);
    const acme = await as('acme', 'submitter');
    await startWorker(new LocalTransport(docket.jobs, docket.workers), {
      pay: async (job, ctx) => {
        ctx.log.info({ orderId: 7 }, 'charging %s', 'card');
        ctx.log.debug('not kept: jobLogLevel is info');
        if (job.attempt === 1) {
          ctx.log.error(new Error('card declined'), 'attempt failed');
          throw new Error('card declined');
        }
        ctx.log.warn('paid');
        return { ok: true };
      },
    });
    const job = await acme.submit({ type: 'pay', payload: {}, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 10 } });
    expect(await settled(acme, job.id)).toBe('succeeded');

    const all = await acme.logs(job.id);
    expect(texts(all.lines)).toEqual(['1:info:charging card', '1:error:attempt failed', '2:info:charging card', '2:warn:paid']);
    expect(all.lines[0]!.fields).toEqual({ orderId: 7 });
    expect(all.lines[1]!.fields).toMatchObject({ err: { type: 'Error', message: 'card declined' } });
    expect(all).toMatchObject({ nextCursor: null, dropped: 0 });
    expect(texts((await acme.logs(job.id, { attempt: 2 })).lines)).toEqual(['2:info:charging card', '2:warn:paid']);
    expect(texts((await acme.logs(job.id, { level: 'warn' })).lines)).toEqual(['1:error:attempt failed', '2:warn:paid']);
    const first = await acme.logs(job.id, { limit: 3 });
    expect(first.lines).toHaveLength(3);
    expect(texts((await acme.logs(job.id, { cursor: first.nextCursor! })).lines)).toEqual(['2:warn:paid']);

    // Another tenant sees no such job; bad input is a 400 naming the field.
    await expect((await as('globex', 'viewer')).logs(job.id)).rejects.toMatchObject({ status: 404 });
    const bad = await acme.logs(job.id, { level: 'loud' as 'info' }).catch((e: DocketApiError) => e);
    expect(bad).toBeInstanceOf(DocketApiError);
    expect((bad as DocketApiError).status).toBe(400);
    expect((bad as DocketApiError).problem?.errors?.[0]?.path).toContain('level');
    expect(await acme.request('GET', `/v1/jobs/${job.id}/logs?cursor=abc`).catch((e: DocketApiError) => e.status)).toBe(400);
  });

  it('takes a remote worker\'s lines in batches under its lease, for its own tenant only', async () => {
    const docket = await deployment.open();
    const { base, as, admin } = await serve(docket);
    const acme = await as('acme', 'submitter');
    await startWorker(new HttpTransport({ baseUrl: base, token: await tokenFor('acme', ['worker']) }), {
      report: async (_job, ctx) => {
        for (let i = 0; i < 250; i++) ctx.log.info({ i }, 'row');
        ctx.log.child({ step: 'final' }).warn('done');
      },
    });
    const job = await acme.submit({ type: 'report', payload: {} });
    expect(await settled(acme, job.id)).toBe('succeeded');
    const lines: LogLineInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin.logs(job.id, { limit: 100, ...(cursor ? { cursor } : {}) });
      lines.push(...page.lines);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(lines).toHaveLength(251);
    expect(lines.slice(0, 250).map((l) => l.fields?.i)).toEqual([...Array(250).keys()]);
    expect(lines[250]).toMatchObject({ level: 'warn', message: 'done', fields: { step: 'final' }, attempt: 1 });

    // Under a lease only, and another tenant's worker cannot write into this tenant's jobs.
    const other = await acme.submit({ type: 'held', payload: {}, queue: 'held' });
    const [claimed] = await admin.claim(['held'], 'w-1', { max: 1 });
    expect(claimed!.id).toBe(other.id);
    const batch = { lines: [{ at: new Date().toISOString(), level: 'info', message: 'hi' }] };
    const globexWorker = await as('globex', 'worker');
    await expect(globexWorker.request('POST', `/v1/jobs/${other.id}/logs`, { leaseToken: claimed!.leaseToken, ...batch })).rejects.toMatchObject({ status: 404 });
    const acmeWorker = await as('acme', 'worker');
    await expect(acmeWorker.request('POST', `/v1/jobs/${other.id}/logs`, { leaseToken: 'stale', ...batch })).rejects.toMatchObject({ status: 409 });
    await expect(acmeWorker.request('POST', `/v1/jobs/${other.id}/logs`, { leaseToken: claimed!.leaseToken, lines: [] })).rejects.toMatchObject({ status: 400 });
    expect(await acmeWorker.request('POST', `/v1/jobs/${other.id}/logs`, { leaseToken: claimed!.leaseToken, ...batch })).toEqual({ kept: 1 });
    expect(texts((await acme.logs(other.id)).lines)).toEqual(['1:info:hi']);
  });

  it('streams a running job\'s lines as they are written, then ends when it finishes', async () => {
    const docket = await deployment.open();
    const { as } = await serve(docket);
    const acme = await as('acme', 'submitter');
    let proceed!: () => void;
    const gate = new Promise<void>((r) => (proceed = r));
    await startWorker(new LocalTransport(docket.jobs, docket.workers), {
      slow: async (_job, ctx) => {
        ctx.log.info('started');
        await gate;
        ctx.log.info('finished');
      },
    });
    const job = await acme.submit({ type: 'slow', payload: {} });
    const seen: string[] = [];
    const followed = (async () => {
      for await (const line of acme.followLogs(job.id)) {
        seen.push(line.message);
        // The first line arrived while the job still runs: only now may it go on.
        if (line.message === 'started') {
          expect((await acme.get(job.id)).state).toBe('running');
          proceed();
        }
      }
    })();
    await within('the stream to end with the job', followed);
    expect(seen).toEqual(['started', 'finished']);
  });

  it('costs no row for a handler that does not log, and goes with the job when it is purged', async () => {
    const docket = await deployment.open();
    const { as } = await serve(docket);
    const acme = await as('acme', 'submitter');
    await startWorker(new LocalTransport(docket.jobs, docket.workers), {
      silent: async () => {},
      chatty: async (_job, ctx) => ctx.log.info('hello'),
    });
    const silent = await acme.submit({ type: 'silent', payload: {} });
    const chatty = await acme.submit({ type: 'chatty', payload: {} });
    await Promise.all([settled(acme, silent.id), settled(acme, chatty.id)]);
    expect((await acme.logs(silent.id)).lines).toEqual([]);
    expect(await rowsOf(docket, silent.id)).toBe(0);
    expect(await rowsOf(docket, chatty.id)).toBe(1);
    await docket.jobs.deadLetters.purge([chatty.id]);
    expect(await rowsOf(docket, chatty.id)).toBe(0);
  });
});

/** Rows of job_logs for a job, read from the engine's own table. */
async function rowsOf(docket: Docket, id: string): Promise<number> {
  const store = docket.store as unknown as { db?: { prepare(sql: string): { get(id: string): { n: number } } }; pool?: { query(sql: string, v: unknown[]): Promise<{ rows: { n: string }[] }> } };
  if (store.db) return store.db.prepare('SELECT count(*) AS n FROM job_logs WHERE job_id = ?').get(id).n;
  return Number((await store.pool!.query('SELECT count(*) AS n FROM job_logs WHERE job_id = $1', [id])).rows[0]!.n);
}

describe('job log cap, over HTTP', () => {
  it('drops the oldest lines past the cap and says so in a marker line first', async () => {
    const docket = await openEmbedded({ path: ':memory:', logCapBytes: 2000 });
    const { as } = await serve(docket);
    const acme = await as('acme', 'submitter');
    await startWorker(new LocalTransport(docket.jobs, docket.workers), {
      loud: async (_job, ctx) => {
        for (let i = 0; i < 500; i++) ctx.log.info(`line ${String(i).padStart(4, '0')}`);
      },
    });
    const job = await acme.submit({ type: 'loud', payload: {} });
    await settled(acme, job.id);
    const { lines, dropped } = await acme.logs(job.id, { limit: 1000 });
    expect(dropped).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ id: 0, level: 'warn', message: expect.stringContaining(`${dropped} earlier lines were dropped`) });
    expect(lines.at(-1)!.message).toBe('line 0499');
    expect(dropped + lines.length - 1).toBe(500);
  });
});
