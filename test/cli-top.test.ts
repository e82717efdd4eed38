// `docket top` as a user runs it (bin/docket, built dist/) against a live server: `--once` prints one
// plain frame and exits; the live view redraws until Ctrl-C and then exits cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { parseConfigFile } from '../src/config/index.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { cleanEnv, stopAll, until } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let docket: Docket | undefined;
let app: FastifyInstance | undefined;
const children = new Set<ChildProcess>();

afterEach(async () => {
  await stopAll(children);
  children.clear();
  await app?.close();
  await docket?.stop();
  app = docket = undefined;
});

async function serve() {
  const rules = parseConfigFile({ alerts: { rules: [{ name: 'emails-backlog', kind: 'queue-depth', queue: 'emails', above: 2 }] } });
  docket = await openEmbedded({ path: ':memory:', rules });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), alerts: docket.alerts!.store });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const token = await tokenFor('ops', ['admin']);
  const admin = new DocketClient({ baseUrl: url, token });
  return { url, token, admin };
}

function run(args: string[]) {
  const child = spawn(process.execPath, ['bin/docket', ...args], { cwd: ROOT, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('docket top', () => {
  it('--once prints one frame: queues by state, workers with heartbeat and running jobs, firing alerts', async () => {
    const { url, token, admin } = await serve();
    await admin.submitBulk([1, 2, 3, 4].map(() => ({ type: 'send', queue: 'emails' })));
    await admin.submit({ type: 'build', queue: 'reports', delayMs: 3_600_000 });
    const registered = await admin.request<{ id: string }>('POST', '/v1/workers', { queues: ['emails'], capacity: 8, name: 'mailer-1' });
    await admin.claim('emails', registered.id, { max: 1 });
    await docket!.alerts!.evaluator.runOnce();

    const top = run(['top', '--once', '--url', url, '--token', token]);
    expect(await top.exited).toBe(0);
    const out = top.stdout();
    expect(out).not.toMatch(/\x1b\[/); // plain text: no escape codes
    const lines = out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^docket top  ${url.replace(/[.]/g, '\\.')}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    expect(lines[2]).toMatch(/^QUEUE\s+READY\s+RUNNING\s+SCHED\s+RETRY\s+BLOCKED\s+WAITING\s+SUCCEEDED\s+FAILED\s+DONE\/S$/);
    expect(lines.find((l) => l.startsWith('emails'))!.split(/\s+/)).toEqual(['emails', '3', '1', '0', '0', '0', '0', '0', '0', '-']);
    expect(lines.find((l) => l.startsWith('reports'))!.split(/\s+/)).toEqual(['reports', '0', '0', '1', '0', '0', '0', '0', '0', '-']);
    expect(out).toContain('WORKERS  1 active, 0 lost');
    const worker = lines.find((l) => l.includes('mailer-1'))!.split(/\s+/);
    expect(worker.slice(1, 5)).toEqual(['mailer-1', 'active', 'emails', '1/8']);
    expect(worker[5]).toMatch(/^\d+\.\ds$/);
    expect(out).toContain('ALERTS  1 firing');
    expect(out).toMatch(/ {2}emails-backlog {2}queue emails: 3 ready jobs \(alert above 2\)/);
    expect(top.stderr()).toBe('');

    const alerts = run(['alerts', '--state', 'firing', '--url', url, '--token', token]);
    expect(await alerts.exited).toBe(0);
    expect(JSON.parse(alerts.stdout())).toMatchObject({ alerts: [{ rule: 'emails-backlog', state: 'firing', value: 3 }] });
  });

  it('redraws every interval with rates, and exits 0 on Ctrl-C', async () => {
    const { url, token, admin } = await serve();
    await admin.submitBulk([1, 2, 3].map(() => ({ type: 'send', queue: 'emails' })));
    const top = run(['top', '--interval', '300', '--url', url, '--token', token]);
    const frames = () => top.stdout().split(/\n+(?=docket top {2})/).filter((f) => f.includes('QUEUE'));
    /** The DONE/S column of the emails row. */
    const rateIn = (frame: string) => frame.split('\n').find((l) => l.startsWith('emails'))!.split(/\s+/).at(-1)!;
    await until('the first frame', () => (frames().length > 0 ? true : undefined), 10_000);
    // Two jobs end between frames: a later one shows a rate.
    const { id } = await admin.request<{ id: string }>('POST', '/v1/workers', { queues: ['emails'] });
    for (const job of await admin.claim('emails', id, { max: 2 })) await admin.complete(job.id, job.leaseToken);
    await until('a frame with the rate of the two jobs', () => (frames().some((f) => Number(rateIn(f)) > 0) ? true : undefined), 10_000);
    top.child.kill('SIGINT');
    expect(await top.exited).toBe(0);
    expect(rateIn(frames().at(-1)!)).toMatch(/^\d+\.\d$/);
  });
});
