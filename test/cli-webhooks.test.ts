// `docket webhooks ...` as a user runs it, against `docket server` started as a child process on a
// temporary data dir (so the real wiring: config, engine, API, in-process worker), with a local
// receiver getting the signed deliveries. Needs dist/ (npm run build).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DocketClient } from '../src/sdk/client.js';
import { cleanUp, spawnDocket as spawnCli } from './helpers/cli.js';
import { cleanEnv, freePort, stopAll, until } from './helpers/process.js';
import { LOCAL_RECEIVERS, startReceiver, verifyDocketSignature, type Receiver } from './helpers/webhook-receiver.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
let dir = '';
let receiver: Receiver | undefined;

afterEach(async () => {
  await cleanUp();
  await stopAll(children);
  children.clear();
  await receiver?.close();
  receiver = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `docket <args>` as a child process: its stdout, stderr, and exit code once closed. */
function spawnDocket(args: string[], env: Record<string, string>) {
  const run = spawnCli(env, args);
  return { ...run, closed: run.done.then((r) => r.code) };
}

describe('docket webhooks (CLI)', () => {
  it('creates a subscription, receives signed deliveries of a job, shows the log, deletes it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'docket-cli-webhooks-'));
    receiver = await startReceiver();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // The receiver listens on loopback, which webhooks may reach only when the config opens it.
    const config = join(dir, 'docket.json');
    writeFileSync(config, JSON.stringify({ webhooks: { allowPrivateNetworks: LOCAL_RECEIVERS } }));
    const server = spawnDocket(['server'], { DOCKET_DATA_DIR: dir, PORT: String(port), DOCKET_CONFIG: config });
    await until('docket server', async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok || undefined);
    const token = await until('the first admin token', () => /export DOCKET_TOKEN=(\S+)/.exec(server.stderr())?.[1]);

    const cli = async (...args: string[]) => {
      const run = spawnDocket(args, { DOCKET_URL: url, DOCKET_TOKEN: token });
      const code = await run.closed;
      expect(code, `docket ${args.join(' ')}: ${run.stderr()}`).toBe(0);
      return JSON.parse(run.stdout());
    };

    const sub = await cli('webhooks', 'create', receiver.url, '--events', 'job.started,job.succeeded', '--description', 'from the CLI');
    expect(sub).toMatchObject({ url: receiver.url, events: ['job.started', 'job.succeeded'], enabled: true, secret: expect.stringMatching(/^whsec_/) });

    // Each CLI run costs seconds on a busy machine: the job and the waits go through the SDK.
    const api = new DocketClient({ baseUrl: url, token });
    const job = await api.submit({ type: 'echo', payload: { hello: 'hooks' } });
    const got = await receiver.waitFor(2);
    expect(got.map((r) => [r.event.type, r.event.subject])).toEqual([
      ['docket.job.started', job.id],
      ['docket.job.succeeded', job.id],
    ]);
    expect(got.every((r) => verifyDocketSignature(sub.secret, r.headers['docket-signature'], r.body))).toBe(true);
    await until('both deliveries recorded', async () => ((await api.webhooks.deliveries(sub.id)).deliveries.every((d) => d.status === 'delivered') ? true : undefined));

    const log = await cli('webhooks', 'deliveries', sub.id);
    expect(log.deliveries.map((d: { eventType: string; attempts: number; status: string }) => [d.eventType, d.status, d.attempts])).toEqual([
      ['docket.job.succeeded', 'delivered', 1],
      ['docket.job.started', 'delivered', 1],
    ]);
    expect(await cli('webhooks', 'delete', sub.id)).toEqual({ id: sub.id, deleted: true });
    expect(await api.webhooks.list()).toEqual([]);

    // A bad URL is refused naming the field.
    const bad = spawnDocket(['webhooks', 'create', 'ftp://example.com/x'], { DOCKET_URL: url, DOCKET_TOKEN: token });
    expect(await bad.closed).toBe(1);
    expect(bad.stderr()).toContain('/url: must be an http or https URL');
    server.child.kill('SIGTERM');
    await server.closed;
  }, 120_000);
});
