// Issue 21.5: `docket worker --types ... --labels ...` (and a handlers module's `filter` export)
// claims only the jobs that match, over HTTP, as a user runs it (bin/docket on dist/: build first).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { filterOf } from '../src/interfaces/cli/commands/worker.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { until } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let docket: Docket | undefined;
let app: FastifyInstance | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    await exited;
  }
  await app?.close();
  await docket?.stop();
  app = docket = undefined;
});

async function start() {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
  return { base: await app.listen({ host: '127.0.0.1', port: 0 }), token: await tokenFor('default', ['worker']) };
}

function spawnWorker(base: string, token: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/docket', 'worker', '--handlers', 'test/fixtures/filter-handlers.js', '--url', base, '--heartbeat-ms', '500', ...args], {
    cwd: ROOT,
    env: { ...process.env, DOCKET_LOG_LEVEL: 'warn', DOCKET_TOKEN: token, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  children.push(child);
  return { child, stderr: () => stderr };
}

/** Submits the mix: the jobs that must not run first (ahead in claim order), then the ones that must. */
async function submitMix(skipped: object[], matching: object[]) {
  const skip = await docket!.jobs.submitter.submit(skipped, { tenant: 'default' });
  const run = await docket!.jobs.submitter.submit(matching, { tenant: 'default' });
  return { skip: skip.map((j) => j.id), run: run.map((j) => j.id) };
}

async function states(ids: string[]) {
  return Promise.all(ids.map(async (id) => (await docket!.jobs.queries.get(id))!.state));
}

describe('docket worker with a claim filter', () => {
  it('--types and --labels: runs only jobs of those types carrying those labels', async () => {
    const { base, token } = await start();
    const { skip, run } = await submitMix(
      [{ type: 'resize', labels: { region: 'us' } }, { type: 'other', labels: { region: 'eu' } }, { type: 'resize' }],
      [{ type: 'resize', labels: { region: 'eu' } }, { type: 'thumb', labels: { region: 'eu', size: 'xl' } }],
    );
    const worker = spawnWorker(base, token, ['--types', 'resize,thumb', '--labels', 'region=eu']);
    await until('the matching jobs succeeded', async () => {
      if (worker.child.exitCode !== null) throw new Error(`docket worker exited ${worker.child.exitCode}: ${worker.stderr()}`);
      return (await states(run)).every((s) => s === 'succeeded') ? true : undefined;
    }, 30_000, 50);
    // Submitted before them, so ahead in claim order: skipped by the filter, not merely not reached yet.
    expect(await states(skip)).toEqual(['ready', 'ready', 'ready']);
  }, 60_000);

  it('a handlers module\'s `filter` export applies when no flag is given', async () => {
    const { base, token } = await start();
    const { skip, run } = await submitMix([{ type: 'resize' }, { type: 'other' }], [{ type: 'thumb' }]);
    const worker = spawnWorker(base, token, [], { DOCKET_TEST_MODULE_FILTER: '1' });
    await until('the thumb job succeeded', async () => {
      if (worker.child.exitCode !== null) throw new Error(`docket worker exited ${worker.child.exitCode}: ${worker.stderr()}`);
      return (await states(run)).every((s) => s === 'succeeded') ? true : undefined;
    }, 30_000, 50);
    expect(await states(skip)).toEqual(['ready', 'ready']);
  }, 60_000);

  it('flags replace the module\'s filter part by part; bad flags are usage errors naming the entry', () => {
    expect(filterOf({ labels: 'region=eu' }, { types: ['thumb'], labels: { region: 'us' } })).toEqual({ types: ['thumb'], labels: { region: 'eu' } });
    expect(filterOf({}, undefined)).toBeUndefined();
    expect(() => filterOf({ labels: 'region' }, undefined)).toThrow(/--labels: "region" is not key=value/);
    expect(() => filterOf({ types: ' , ' }, undefined)).toThrow(/--types/);
  });
});
