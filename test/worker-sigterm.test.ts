// SIGTERM to a `docket worker` process while it runs jobs (a deploy, a scale-down): it stops
// claiming, lets running jobs finish within its 10 s grace, gives back those still running after
// it (their attempt not counted), unregisters and exits 0. No job is lost or left running under a
// dead lease. On both deployments, as a user runs it (bin/docket on dist/: build first).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { deployments } from './helpers/deployments.js';
import { until } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts `docket worker` on the shutdown handlers; `started` holds the job ids its handlers announced. */
function spawnWorker(base: string, token: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['bin/docket', 'worker', '--handlers', 'test/fixtures/shutdown-handlers.js', '--url', base, '--concurrency', '5', '--heartbeat-ms', '1000'],
    { cwd: ROOT, env: { ...process.env, DOCKET_LOG_LEVEL: 'info', DOCKET_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const started = new Set<string>();
  let output = '';
  child.stderr!.on('data', (d) => (output += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output += `${line}\n`;
    const m = /^handler-started \w+ (\S+)$/.exec(line);
    if (m) started.add(m[1]!);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, started, exited, output: () => output };
}

describe.each(deployments((c) => cleanups.push(c)))('docket worker on SIGTERM with jobs running: $name', (deployment) => {
  it('finishes the jobs that end within the grace, gives back the one that does not, unregisters and exits 0', async () => {
    const docket = await deployment.open();
    cleanups.push(() => docket.close());
    const app: FastifyInstance = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
    cleanups.push(() => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const jobs = await docket.jobs.submitter.submit([{ type: 'finish' }, { type: 'finish' }, { type: 'stuck', maxAttempts: 1 }], { tenant: 'default' });
    const [quick1, quick2, stuck] = jobs.map((j) => j.id);
    const worker = spawnWorker(base, await tokenFor('default', ['worker']));

    // The positive marker: every handler started, and the store has the three running.
    await until('all three handlers started', () => {
      if (worker.child.exitCode !== null) throw new Error(`docket worker exited ${worker.child.exitCode}: ${worker.output()}`);
      return worker.started.size === 3 ? true : undefined;
    }, 30_000);
    for (const id of jobs.map((j) => j.id)) expect((await docket.jobs.queries.get(id))!.state).toBe('running');
    expect((await docket.workers.list()).map((w) => w.id)).toHaveLength(1);

    const termAt = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toMatch(/SIGTERM received, shutting down: 3 running jobs to finish/);

    // Finished within the grace, after the signal: not cut short, not given back.
    for (const id of [quick1!, quick2!]) {
      const job = (await docket.jobs.queries.get(id))!;
      expect(job).toMatchObject({ state: 'succeeded', result: { finished: id }, attempt: 1 });
      expect(job.finishedAt!).toBeGreaterThan(termAt);
    }
    // Still running when the grace ended: back in the queue, the attempt not counted (its only
    // attempt, maxAttempts 1, is still there to run), its lease ended.
    expect(await docket.jobs.queries.get(stuck!)).toMatchObject({ state: 'ready', attempt: 0, leaseExpiresAt: null, stateReason: 'released_by_worker' });
    expect(await docket.jobs.claims.claim({ workerId: 'next', queues: ['default'], max: 5 })).toMatchObject([{ id: stuck, attempt: 1 }]);
    expect(await docket.workers.list()).toEqual([]);
  }, 60_000);
});
