// End to end: `docket schedules ...` against `docket server` (a child process, embedded, real
// clock, the shipped example handlers): a schedule fires by itself and its jobs run.
// Needs dist/: run `npx tsc -p tsconfig.build.json` first (npm test builds it).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, spawnDocket, type Run } from './helpers/cli.js';
import { cleanEnv, freePort, stopAll, until } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcess>();
const dir = mkdtempSync(join(tmpdir(), 'docket-cli-schedules-'));

afterAll(async () => {
  await cleanUp();
  await stopAll(children);
  rmSync(dir, { recursive: true, force: true });
});

function run(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return spawnDocket(env, args).done;
}

describe('docket schedules (CLI)', () => {
  // Each CLI run starts a Node process (seconds on a busy 2-core machine): a generous limit, no timing assertion.
  it('previews, creates, lists, fires by itself, pauses, and deletes', { timeout: 240_000 }, async () => {
    const port = await freePort();
    const server = spawn(process.execPath, ['bin/docket', 'server'], { cwd: ROOT, env: cleanEnv({ DOCKET_DATA_DIR: dir, PORT: String(port) }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(server);
    let output = '';
    server.stdout!.on('data', (d) => (output += d));
    server.stderr!.on('data', (d) => (output += d));
    const url = `http://127.0.0.1:${port}`;
    await until('the server', async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined));
    const token = await until('the first admin token', () => /export DOCKET_TOKEN=(\S+)/.exec(output)?.[1]);
    const env = { DOCKET_URL: url, DOCKET_TOKEN: token };
    const json = async (...args: string[]) => {
      const r = await run(env, ...args);
      expect(r.code, `docket ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    };

    const preview = await json('schedules', 'preview', '30 2 * * *', '--timezone', 'Europe/Berlin', '--count', '2', '--from', '2026-03-28T12:00:00Z');
    expect(preview.fires).toEqual([
      { at: '2026-03-29T01:00:00.000Z', local: '2026-03-29T03:00:00+02:00' },
      { at: '2026-03-30T00:30:00.000Z', local: '2026-03-30T02:30:00+02:00' },
    ]);

    // A bad zone: exit 1, the field named on stderr.
    const bad = await run(env, 'schedules', 'create', 'x', '--cron', '@daily', '--timezone', 'Mars/Olympus', '--type', 'echo');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('/timezone: "Mars/Olympus" is not an IANA time zone');

    const s = await json('schedules', 'create', 'every-second', '--cron', '* * * * * *', '--type', 'echo', '--payload', '{"hi":1}', '--overlap', 'allow');
    expect(s).toMatchObject({ name: 'every-second', cron: '* * * * * *', timezone: 'UTC', job: { type: 'echo', payload: { hi: 1 } } });
    expect((await json('schedules', 'list')).schedules.map((x: { id: string }) => x.id)).toEqual([s.id]);

    // The leader's firer submits jobs, the in-process worker runs them (read over HTTP: quicker than a CLI run per poll).
    const done = await until(
      'a scheduled job to succeed',
      async () => {
        const res = await fetch(`${url}/v1/jobs?state=succeeded&label=docket.schedule=${s.id}`, { headers: { authorization: `Bearer ${token}` } });
        const page = (await res.json()) as { jobs: unknown[] };
        return page.jobs[0];
      },
      30_000,
      250,
    );
    expect(done).toMatchObject({ type: 'echo', result: { hi: 1 } });
    expect((await json('schedules', 'fires', s.id)).fires.length).toBeGreaterThan(0);

    expect(await json('schedules', 'pause', s.id)).toMatchObject({ paused: true, nextFireAt: null });
    expect((await json('schedules', 'get', s.id)).upcoming).toEqual([]);
    expect(await json('schedules', 'delete', s.id)).toEqual({ id: s.id, deleted: true });
    expect((await run(env, 'schedules', 'get', s.id)).code).toBe(1);
    server.kill('SIGTERM');
  });
});
