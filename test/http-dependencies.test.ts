import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import type { Json } from '../src/domain/job.js';
import { DocketClient } from '../src/sdk/client.js';
import { HttpTransport } from '../src/sdk/http-transport.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import type { WorkerTransport } from '../src/sdk/transport.js';
import { Worker, type Handler } from '../src/sdk/worker.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';
import { until } from './helpers/process.js';

/**
 * Dependencies end to end (docs/dependencies.md): a DAG submitted in one request, run by a
 * worker (remote over HTTP, and in-process), each handler reading the results it waited for. On
 * both deployments (embedded; PostgreSQL + Redis): the store resolves the DAG, the dispatch hands
 * out each job once its dependencies finished.
 */

const { onBoth, start: serve, defer } = both();
let docket: Docket;
let base: string;

async function start(): Promise<Docket> {
  ({ docket, base } = await serve());
  return docket;
}

async function post(path: string, token: string, body: unknown) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
}

/** extract → (transform, audit) → load; audit fails and has policy continue. */
const PIPELINE = [
  { ref: 'extract', type: 'extract', payload: { rows: 3 } },
  { ref: 'transform', type: 'transform', dependsOn: ['extract'] },
  { ref: 'audit', type: 'audit', dependsOn: ['extract'], maxAttempts: 1, onDependencyFailure: 'continue' },
  { ref: 'load', type: 'load', dependsOn: ['transform', 'audit'], onDependencyFailure: 'continue' },
  { ref: 'report', type: 'report', dependsOn: ['audit'] },
];

/** Handlers that compute from what their dependencies returned. */
function handlers(seen: Record<string, Json>): Record<string, Handler> {
  return {
    extract: async (job) => ({ rows: (job.payload as { rows: number }).rows }),
    transform: async (_job, ctx) => {
      const [extract] = await ctx.dependencies();
      return { doubled: (extract!.result as { rows: number }).rows * 2 };
    },
    audit: async () => {
      throw new Error('audit service said no');
    },
    load: async (_job, ctx) => {
      const deps = await ctx.dependencies();
      seen.load = deps.map((d) => ({ type: d.type, state: d.state, result: d.result ?? null, error: d.error?.message ?? null }));
      return { loaded: true };
    },
    report: async () => ({ never: true }),
  };
}

async function runPipeline(transport: (token: string) => WorkerTransport) {
  const d = await start();
  const submitter = await tokenFor('acme', ['submitter']);
  const reply = await post('/v1/jobs/bulk', submitter, { jobs: PIPELINE });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  const [extract, transform, audit, load, report] = reply.body.jobs;
  expect(reply.body.jobs.map((j: { state: string }) => j.state)).toEqual(['ready', 'waiting', 'waiting', 'waiting', 'waiting']);
  expect(load.dependsOn).toEqual([transform.id, audit.id]);
  expect(load.onDependencyFailure).toBe('continue');

  const seen: Record<string, Json> = {};
  const worker = await new Worker({ transport: transport(await tokenFor('acme', ['worker'])), handlers: handlers(seen), concurrency: 2, heartbeatMs: 200, pollWaitMs: 500, logger: pino({ level: 'silent' }) }).start();
  defer(() => worker.close(1000));

  const client = new DocketClient({ baseUrl: base, token: submitter });
  await until('load to succeed', async () => ((await client.get(load.id)).state === 'succeeded' ? true : undefined));
  expect((await client.get(transform.id)).result).toEqual({ doubled: 6 });
  expect(seen.load).toHaveLength(2);
  expect(seen.load).toEqual(
    expect.arrayContaining([
      { type: 'transform', state: 'succeeded', result: { doubled: 6 }, error: null },
      { type: 'audit', state: 'failed', result: null, error: 'audit service said no' },
    ]),
  );
  // report had policy cancel: audit's failure cancelled it.
  expect(await client.get(report.id)).toMatchObject({ state: 'cancelled', stateReason: 'upstream_failed' });

  // A single read shows both directions; the dependencies route shows states and results.
  expect(await client.get(extract.id)).toMatchObject({ dependents: [transform.id, audit.id].sort() });
  const deps = await client.dependencies(load.id);
  expect(deps).toMatchObject({ jobId: load.id, onDependencyFailure: 'continue' });
  expect(deps.dependencies.map((x) => x.state).sort()).toEqual(['failed', 'succeeded']);
  return d;
}

onBoth('dependencies over HTTP', () => {
  it('runs a DAG submitted in one request on a remote worker; handlers read their dependencies\' results', async () => {
    await runPipeline((token) => new HttpTransport({ baseUrl: base, token }));
  });

  it('runs the same DAG on an in-process worker', async () => {
    await runPipeline(() => new LocalTransport(docket.jobs));
  });

  it('rejects a cycle with 400 naming it and the field; nothing is created', async () => {
    await start();
    const submitter = await tokenFor('acme', ['submitter']);
    const reply = await post('/v1/jobs/bulk', submitter, {
      jobs: [
        { ref: 'a', type: 'x', dependsOn: ['b'] },
        { ref: 'b', type: 'x', dependsOn: ['a'] },
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.type).toContain('application/problem+json');
    expect(reply.body.errors).toEqual([{ path: '/jobs/0/dependsOn/0', message: 'dependency cycle: a → b → a' }]);
    const list = await new DocketClient({ baseUrl: base, token: submitter }).list();
    expect(list.jobs).toEqual([]);
  });

  it('answers an unknown or other tenant\'s dependency with 400 naming /dependsOn/0', async () => {
    await start();
    const theirs = await post('/v1/jobs', await tokenFor('other', ['submitter']), { type: 'x' });
    const mine = await tokenFor('acme', ['submitter']);
    for (const id of [theirs.body.id, 'no-such-job']) {
      const reply = await post('/v1/jobs', mine, { type: 'y', dependsOn: [id] });
      expect(reply.status).toBe(400);
      expect(reply.body.errors).toEqual([{ path: '/dependsOn/0', message: expect.stringContaining(`no job "${id}"`) }]);
    }
    const combined = await post('/v1/jobs', mine, { type: 'y', dependsOn: [theirs.body.id], delayMs: 1000 });
    expect(combined.body.errors.map((e: { path: string }) => e.path)).toContain('/delayMs');
  });
});
