// End to end: the `docket` CLI as a user runs it, against `docket server` started as a child
// process on a temporary data dir with the shipped examples/handlers.js.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, docketAs, startServer as start, tempDir, type Run } from './helpers/cli.js';
import { freePort, until } from './helpers/process.js';

afterEach(cleanUp);

/** The token CLI runs use: the admin token the server printed on first start of its data dir. */
let token = '';

async function startServer(dataDir: string) {
  const server = await start(dataDir);
  if (server.token) token = server.token;
  return server;
}

/** Runs `docket <args>` against `url` (env DOCKET_URL) as the admin. */
function docket(url: string, ...args: string[]): Promise<Run> {
  return docketAs(token, url, ...args);
}

/** Runs a command that must succeed and print JSON. */
async function docketJson(url: string, ...args: string[]): Promise<any> {
  const run = await docket(url, ...args);
  expect(run.code, `docket ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}

/** `docket get <id>` until the job is in `state`. */
function untilState(url: string, id: string, state: string): Promise<any> {
  return until(`job ${id} to be ${state}`, async () => {
    const job = await docketJson(url, 'get', id);
    return job.state === state ? job : undefined;
  });
}

/** Every job the server holds, through the HTTP API's pages. */
async function countJobs(url: string): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const page = (await fetch(`${url}/v1/jobs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())) as {
      jobs: unknown[];
      nextCursor: string | null;
    };
    n += page.jobs.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

describe('docket CLI against docket server', () => {
  it('submits, shows, lists and cancels jobs', async () => {
    const { url } = await startServer(tempDir());
    const submitted = await docketJson(url, 'submit', 'echo', '--payload', '{"a":1}');
    expect(submitted).toMatchObject({ id: expect.any(String), type: 'echo', queue: 'default', payload: { a: 1 }, priority: 5 });

    const done = await untilState(url, submitted.id, 'succeeded');
    expect(done).toMatchObject({ id: submitted.id, result: { a: 1 }, attempt: 1 });
    const listed = await docketJson(url, 'list', '--state', 'succeeded');
    expect(listed.jobs.map((j: { id: string }) => j.id)).toContain(submitted.id);

    const sleeper = await docketJson(url, 'submit', 'sleep', '--payload', '{"ms":5000}');
    await untilState(url, sleeper.id, 'running');
    const cancelled = await docketJson(url, 'cancel', sleeper.id);
    expect(cancelled).toMatchObject({ id: sleeper.id, state: 'cancelled', stateReason: 'cancelled_by_user' });
    expect(await docketJson(url, 'get', sleeper.id)).toMatchObject({ state: 'cancelled' });
    // Cancelling again is refused: the job already finished.
    expect((await docket(url, 'cancel', sleeper.id)).code).toBe(1);
  });

  it('submits an NDJSON file in bulk, and refuses a file with bad lines without submitting any of it', async () => {
    const dir = tempDir();
    const { url } = await startServer(dir);
    const file = join(dir, 'jobs.ndjson');
    writeFileSync(file, Array.from({ length: 500 }, (_, i) => JSON.stringify({ type: 'echo', payload: { i }, linkId: 'bulk-1' })).join('\n') + '\n');
    expect(await docketJson(url, 'submit', '--file', file)).toEqual({ submitted: 500, file });
    const all = await until(
      'all 500 jobs to succeed',
      async () => {
        const page = await docketJson(url, 'list', '--link-id', 'bulk-1', '--state', 'succeeded', '--limit', '500');
        return page.jobs.length === 500 ? page.jobs : undefined;
      },
      30_000,
      200,
    );
    expect(new Set(all.map((j: { result: { i: number } }) => j.result.i)).size).toBe(500);

    const before = await countJobs(url);
    expect(before).toBe(500);
    const bad = join(dir, 'bad.ndjson');
    const ok = JSON.stringify({ type: 'echo' });
    writeFileSync(bad, [ok, ok, JSON.stringify({ type: 'echo', priority: 0 }), ok, '{not json', ok].join('\n'));
    const run = await docket(url, 'submit', '--file', bad);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing submitted');
    expect(run.stderr).toContain(`${bad}:3:`);
    expect(run.stderr).toMatch(/:3: \/priority/);
    expect(run.stderr).toContain(`${bad}:5:`);
    expect(run.stderr).not.toMatch(/:[1246]: /);
    expect(await countJobs(url)).toBe(before);
  });

  it('reports bad input and an unreachable server with exit codes and names the problem', async () => {
    const { url } = await startServer(tempDir());
    const priority = await docket(url, 'submit', 'echo', '--priority', '11');
    expect(priority.code).toBe(2);
    expect(priority.stderr).toContain('--priority');
    const payload = await docket(url, 'submit', 'echo', '--payload', 'nope');
    expect(payload.code).toBe(2);
    expect(payload.stderr).toContain('--payload');
    expect(await countJobs(url)).toBe(0);

    const missing = await docket(url, 'get', '01900000-0000-7000-8000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);

    const nobody = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['get', '01900000-0000-7000-8000-000000000000'], ['submit', 'echo'], ['list']]) {
      const run = await docket(nobody, ...args);
      expect(run.code, `docket ${args.join(' ')}: ${run.stderr}`).toBe(3);
      expect(run.stderr).toContain('no server answers');
    }
  });

  it('keeps jobs across a restart on the same data dir, and exits 0 on SIGTERM', async () => {
    const dir = tempDir();
    const first = await startServer(dir);
    const echo = await docketJson(first.url, 'submit', 'echo', '--payload', '{"kept":true}');
    const later = await docketJson(first.url, 'submit', 'echo', '--delay', '3600000');
    expect(later.state).toBe('scheduled');
    await untilState(first.url, echo.id, 'succeeded');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startServer(dir);
    expect(await docketJson(second.url, 'get', echo.id)).toMatchObject({ state: 'succeeded', result: { kept: true } });
    expect(await docketJson(second.url, 'get', later.id)).toMatchObject({ state: 'scheduled', runAt: later.runAt });
    expect(await countJobs(second.url)).toBe(2);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('is secure by default: prints an admin token on first start, mints tenant tokens, keeps tenants apart', async () => {
    const dir = tempDir();
    const server = await startServer(dir);
    const { url } = server;
    expect(server.output()).toContain('export DOCKET_TOKEN=');
    expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);

    // No token: 401 with the reason, and the CLI says how to get one.
    const anonymous = await docketAs('', url, 'list');
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('missing Authorization header');
    expect(anonymous.stderr).toContain('docket token');

    const mint = async (...args: string[]) => {
      const run = await docketAs('', url, 'token', '--data-dir', dir, ...args);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.trim();
    };
    const acme = await mint('--tenant', 'acme', '--role', 'submitter');
    const globexViewer = await mint('--tenant', 'globex', '--role', 'viewer');
    const job = JSON.parse((await docketAs(acme, url, 'submit', 'echo', '--payload', '{"n":1}')).stdout);
    expect(job).toMatchObject({ tenant: 'acme', state: 'ready' });
    expect(await untilState(url, job.id, 'succeeded')).toMatchObject({ tenant: 'acme' }); // the admin sees every tenant

    const hidden = await docketAs(globexViewer, url, 'get', job.id);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toContain('not found');
    expect(JSON.parse((await docketAs(globexViewer, url, 'list')).stdout).jobs).toEqual([]);
    const denied = await docketAs(globexViewer, url, 'submit', 'echo');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('may not submit jobs');

    // Bad token requests are usage errors (exit 2) with the reason.
    const noRole = await docketAs('', url, 'token', '--data-dir', dir, '--tenant', 'acme');
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toContain('--role is required');
    const badRole = await docketAs('', url, 'token', '--data-dir', dir, '--role', 'root');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role root: not a role');
    const noSecret = await docketAs('', url, 'token', '--data-dir', tempDir(), '--role', 'admin');
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('no signing secret');
  });
});
