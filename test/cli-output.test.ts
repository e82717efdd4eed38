// Issue 22: what a new user touches first in the CLI, run as they run it (bin/docket on dist/,
// against `docket server` as a child process): tables on a terminal and JSON when piped, -o, -q,
// one shape per list, --version, submit --wait, get --watch, --dry-run, the error messages, shell
// completion, and a worker that waits for its server.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUp, docketAs, ROOT, spawnDocket, startServer, tempDir, type Server } from './helpers/cli.js';
import { freePort, until } from './helpers/process.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

let server: Server;
const docket = (...args: string[]) => docketAs(server.token, server.url, ...args);

async function ok(...args: string[]): Promise<string> {
  const run = await docket(...args);
  expect(run.code, `docket ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  server = await startServer(tempDir());
}, 60_000);
afterAll(cleanUp);

/** Each test runs several CLI processes; on a busy 2-core machine one can take seconds to start. */
const SLOW = { timeout: 180_000 };

/** The dead letters whose error contains `text`, read from the API. */
async function deadLetters(text: string): Promise<string[]> {
  const page = (await fetch(`${server.url}/v1/dead-letters?error=${encodeURIComponent(text)}`, { headers: { authorization: `Bearer ${server.token}` } }).then((r) => r.json())) as { jobs: { id: string }[] };
  return page.jobs.map((j) => j.id);
}

describe('docket CLI output', SLOW, () => {
  it('--version and -V print the version, not the help', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await docket(flag);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`${version}\n`);
    }
  });

  it('prints JSON when piped, a table with -o table or wide, one id a line with -o id or -q', async () => {
    const submitted = JSON.parse(await ok('submit', 'echo', '--payload', '{"n":1}', '--queue', 'out'));
    expect(submitted).toMatchObject({ type: 'echo', queue: 'out' });
    // -q and -o id: only the id, for $(...) and xargs.
    const quiet = (await ok('submit', 'echo', '--queue', 'out', '-q')).trim();
    expect(quiet).toMatch(/^[0-9a-f-]{36}$/);
    expect((await ok('submit', 'echo', '--queue', 'out', '-o', 'id')).trim()).toMatch(/^[0-9a-f-]{36}$/);

    const ids = (await ok('list', '--queue', 'out', '-o', 'id')).trim().split('\n');
    expect(ids).toHaveLength(3);
    expect(ids).toContain(submitted.id);
    expect(ids).toContain(quiet);

    const table = (await ok('list', '--queue', 'out', '-o', 'table')).trim().split('\n');
    expect(table[0]!.split(/\s{2,}/)).toEqual(['ID', 'TYPE', 'QUEUE', 'STATE', 'PRIORITY', 'ATTEMPT', 'AGE']);
    expect(table).toHaveLength(4);
    expect(table.find((l) => l.startsWith(submitted.id))!.split(/\s+/).slice(1, 3)).toEqual(['echo', 'out']);
    const wide = (await ok('list', '--queue', 'out', '-o', 'wide')).split('\n')[0]!;
    expect(wide).toContain('LINK');
    expect(wide).toContain('WORKER');

    const queues = (await ok('queues', 'list', '-o', 'table')).split('\n');
    expect(queues[0]!.split(/\s{2,}/).slice(0, 3)).toEqual(['NAME', 'PAUSED', 'READY']);
    expect(queues.some((l) => l.startsWith('out '))).toBe(true);

    const bad = await docket('list', '-o', 'yaml');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('table, json, wide, id');
  });

  it('prints a table on a terminal without being asked', async () => {
    // script(1) gives the command a terminal, as a person's shell would.
    const run = spawnSync('script', ['-qec', 'node bin/docket queues list', '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, DOCKET_URL: server.url, DOCKET_TOKEN: server.token },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^NAME\s+PAUSED\s+READY/m);
    expect(run.stdout).not.toContain('{');
  });

  it('prints every list as one object holding its array, as the API does', async () => {
    await ok('submit', 'echo');
    const lists: [string[], string][] = [
      [['list'], 'jobs'],
      [['queues', 'list'], 'queues'],
      [['workers'], 'workers'],
      [['conditions', 'list'], 'conditions'],
      [['dead-letters', 'list'], 'jobs'],
      [['schedules', 'list'], 'schedules'],
      [['templates', 'list'], 'templates'],
      [['webhooks', 'list'], 'webhooks'],
      [['alerts'], 'alerts'],
    ];
    for (const [args, key] of lists) {
      const reply = JSON.parse(await ok(...args));
      expect(Array.isArray(reply), `docket ${args.join(' ')}`).toBe(false);
      expect(Array.isArray(reply[key]), `docket ${args.join(' ')}: .${key}`).toBe(true);
      const apiPath = { jobs: args[0] === 'dead-letters' ? '/v1/dead-letters' : '/v1/jobs' }[key as 'jobs'] ?? `/v1/${key}`;
      const api = (await fetch(`${server.url}${apiPath}`, { headers: { authorization: `Bearer ${server.token}` } }).then((r) => r.json())) as object;
      expect(Object.keys(reply).sort(), `docket ${args.join(' ')} has the keys of GET ${apiPath}`).toEqual(Object.keys(api).sort());
    }
  });
});

describe('docket submit --wait and get --watch', SLOW, () => {
  it('--wait prints the ended job and exits 0 when it succeeded, 1 when it failed', async () => {
    const done = await docket('submit', 'echo', '--payload', '{"hello":"world"}', '--wait');
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ state: 'succeeded', result: { hello: 'world' } });

    const failed = await docket('submit', 'fail', '--payload', '{"message":"disk full"}', '--max-attempts', '1', '--wait');
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ state: 'failed' });
    expect(failed.stderr).toMatch(/failed: disk full/);

    const late = await docket('submit', 'sleep', '--payload', '{"ms":10000}', '--wait', '--wait-timeout', '1');
    expect(late.code).toBe(4);
    expect(late.stderr).toMatch(/still (ready|running) after 1s/);
  });

  it('get --watch prints the job at each change until it ends, one JSON document a line when piped', async () => {
    // A paused queue holds the job until the watch has printed it as submitted.
    const auth = { authorization: `Bearer ${server.token}` };
    await fetch(`${server.url}/v1/queues/default/pause`, { method: 'POST', headers: auth });
    const id = (await ok('submit', 'sleep', '--payload', '{"ms":1000}', '-q')).trim();
    const watch = spawnDocket({ DOCKET_URL: server.url, DOCKET_TOKEN: server.token }, ['get', id, '--watch']);
    await until('the watch to print the job', () => (watch.stdout().includes('\n') ? true : undefined), 60_000);
    await fetch(`${server.url}/v1/queues/default/resume`, { method: 'POST', headers: auth });
    const run = await watch.done;
    expect(run.code, run.stderr).toBe(0);
    const versions = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; state: string; progress: { percent: number } | null });
    expect(versions.every((v) => v.id === id)).toBe(true);
    expect(versions[0]!.state).toBe('ready');
    expect(versions.at(-1)!.state).toBe('succeeded');
    expect(versions.some((v) => v.state === 'running' && v.progress !== null)).toBe(true);

    const table = await docket('get', id, '--watch', '-o', 'table');
    expect(table.stdout.trim().split('\n')).toHaveLength(2); // header and the ended job: nothing to wait for
  });
});

describe('docket dead-letters --dry-run', SLOW, () => {
  it('lists what requeue and purge would act on, and changes nothing', async () => {
    const failing: string[] = [];
    for (let i = 0; i < 2; i++) failing.push((await ok('submit', 'fail', '--payload', `{"message":"dry run ${i}"}`, '--max-attempts', '1', '-q')).trim());
    await until('both jobs failed', async () => ((await deadLetters('dry run')).length === 2 ? true : undefined), 60_000);

    for (const action of ['requeue', 'purge']) {
      const dry = JSON.parse(await ok('dead-letters', action, '--error', 'dry run', '--dry-run'));
      expect(dry.jobs.map((j: { id: string }) => j.id).sort()).toEqual([...failing].sort());
      expect((await ok('dead-letters', action, failing[0]!, '--dry-run', '-o', 'id')).trim()).toBe(failing[0]);
    }
    expect((await deadLetters('dry run')).sort()).toEqual([...failing].sort());
  });
});

describe('docket error messages', SLOW, () => {
  it('prints a validation error once, in the API\'s words', async () => {
    const state = await docket('list', '--state', 'bogus');
    expect(state.code).toBe(1);
    expect(state.stderr.match(/must be one of/g)).toHaveLength(1);

    const cron = await docket('schedules', 'create', 'x', '--cron', '61 * * *', '--type', 'echo');
    expect(cron.code).toBe(1);
    expect(cron.stderr.match(/cron/g)!.length).toBeLessThanOrEqual(2);
    expect(cron.stderr).toContain('has 4 fields; give 5 fields');
    expect(cron.stderr).not.toContain('seven');
  });

  it('submit --file names bad lines with the API\'s messages, not raw schema text', async () => {
    const file = join(tempDir(), 'jobs.ndjson');
    writeFileSync(file, `${JSON.stringify({ type: 'echo', priority: 11 })}\n${JSON.stringify({ type: 'echo', tpye: 'x' })}\n`);
    const run = await docket('submit', '--file', file);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}:1: /priority: must be a whole number from 1 to 10 (got 11)`);
    expect(run.stderr).toContain(`${file}:2: /tpye: unknown field`);
    expect(run.stderr).not.toContain('Expected integer');
  });

  it('reports an unreachable server at the URL it tried (--url over DOCKET_URL)', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const run = await spawnDocket({ DOCKET_URL: server.url, DOCKET_TOKEN: server.token }, ['list', '--url', nobody]).done;
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`no server answers at ${nobody}`);
    const env = await spawnDocket({ DOCKET_URL: nobody, DOCKET_TOKEN: server.token }, ['list']).done;
    expect(env.stderr).toContain(`no server answers at ${nobody}`);
  });
});

describe('docket completion', SLOW, () => {
  it('bash completes commands, subcommands, flags and -o values through docket __complete', () => {
    // `docket` on the PATH, as after npm install -g.
    const bin = join(tempDir(), 'bin');
    mkdirSync(bin);
    symlinkSync(join(ROOT, 'bin/docket'), join(bin, 'docket'));
    const complete = (...words: string[]) => {
      const line = words.map((w) => `'${w}'`).join(' ');
      const script = `source <(docket completion bash); COMP_WORDS=(docket ${line}); COMP_CWORD=${words.length}; _docket; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const run = spawnSync('bash', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      return run.stdout.trim().split('\n');
    };
    expect(complete('dead-')).toEqual(['dead-letters']);
    expect(complete('dead-letters', 're')).toEqual(['requeue']);
    expect(complete('dead-letters', 'requeue', '--dr')).toEqual(['--dry-run']);
    expect(complete('list', '-o', '')).toEqual(['table', 'json', 'wide', 'id']);
    expect(complete('submit', '--queue', 'q', '--wa')).toEqual(['--wait', '--wait-timeout']);
    const zsh = spawnSync(process.execPath, ['bin/docket', 'completion', 'zsh'], { cwd: ROOT, encoding: 'utf8' });
    expect(zsh.stdout).toMatch(/^#compdef docket/);
  });
});

describe('docket worker before its server', SLOW, () => {
  it('waits for the server with backoff instead of exiting, then runs jobs', async () => {
    const secret = 'first-hour-test-secret-0123456789-abcdef';
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const minted = await spawnDocket({ DOCKET_JWT_SECRET: secret }, ['token', '--role', 'admin']).done;
    const token = minted.stdout.trim();
    const worker = spawnDocket({ DOCKET_TOKEN: token, DOCKET_LOG_LEVEL: 'info' }, ['worker', '--handlers', 'examples/handlers.js', '--queues', 'remote', '--url', url, '--heartbeat-ms', '500']);
    await until('the worker to say it waits', () => (/server not answering yet/.test(worker.stdout()) ? true : undefined), 60_000);
    expect(worker.child.exitCode).toBeNull();

    const late = await startServer(tempDir(), port, { DOCKET_JWT_SECRET: secret });
    const job = JSON.parse((await docketAs(token, late.url, 'submit', 'echo', '--queue', 'remote', '--payload', '{"late":true}', '--wait')).stdout);
    expect(job).toMatchObject({ state: 'succeeded', result: { late: true } });
    expect(/"msg":"worker started"/.test(worker.stdout())).toBe(true);
  });
});
