// `docket logs <id> [--follow]` as a user runs it (bin/docket, built dist/) against a live server.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { cleanEnv, stopAll, until } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
let docket: Docket | undefined;
let app: FastifyInstance | undefined;
let worker: Worker | undefined;

afterEach(async () => {
  await stopAll(children);
  children.clear();
  await worker?.close(1000);
  await app?.close();
  await docket?.stop();
  app = docket = worker = undefined;
});

function run(url: string, token: string, args: string[]) {
  const child = spawn(process.execPath, ['bin/docket', ...args], { cwd: ROOT, env: cleanEnv({ DOCKET_URL: url, DOCKET_TOKEN: token }), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const out = { stdout: '', stderr: '', code: null as number | null };
  child.stdout!.on('data', (d) => (out.stdout += d));
  child.stderr!.on('data', (d) => (out.stderr += d));
  const done = new Promise<typeof out>((resolve) => child.once('close', (code) => resolve({ ...out, code })));
  return { out, done };
}

describe('docket logs', () => {
  it('prints a finished job\'s log, filters it, and follows a running one until it finishes', async () => {
    docket = await openEmbedded({ path: ':memory:' });
    app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth() });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const token = await tokenFor('acme', ['submitter']);
    const client = new DocketClient({ baseUrl: url, token });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    worker = await new Worker({
      transport: new LocalTransport(docket.jobs, docket.workers),
      logger: pino({ level: 'info' }, { write: () => {} }),
      handlers: {
        quick: async (_job, ctx) => {
          ctx.log.info({ orderId: 7 }, 'charged');
          ctx.log.warn('slow bank');
        },
        slow: async (_job, ctx) => {
          ctx.log.info('waiting for the bank');
          await gate;
          ctx.log.info('done');
        },
      },
    }).start();

    const quick = await client.submit({ type: 'quick', payload: {} });
    await until('quick to finish', async () => ((await client.get(quick.id)).state === 'succeeded' ? true : undefined));
    const all = await run(url, token, ['logs', quick.id]).done;
    expect(all.code, all.stderr).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO  #1 charged \{"orderId":7\}$/);
    expect(lines[1]).toMatch(/WARN  #1 slow bank$/);
    const warn = await run(url, token, ['logs', quick.id, '--level', 'warn', '--json']).done;
    expect(warn.stdout.trim().split('\n').map((l) => JSON.parse(l).message)).toEqual(['slow bank']);
    const bad = await run(url, token, ['logs', quick.id, '--level', 'loud']).done;
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('loud');

    const slow = await client.submit({ type: 'slow', payload: {} });
    const follow = run(url, token, ['logs', slow.id, '--follow']);
    await until('the first line to be printed while the job runs', () => (follow.out.stdout.includes('waiting for the bank') ? true : undefined));
    expect((await client.get(slow.id)).state).toBe('running');
    release();
    const followed = await follow.done;
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout.trim().split('\n').map((l) => l.replace(/^.* #1 /, ''))).toEqual(['waiting for the bank', 'done']);
    // Four CLI processes, each starting node: slow on a busy 2-core machine.
  }, 90_000);
});
