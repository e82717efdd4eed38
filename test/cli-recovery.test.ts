// `docket dead-letters` and `docket conditions` as an operator runs them against `docket server`:
// what each prints, what it refuses (exit 2) and what it changes. The dry runs are in
// test/cli-output.test.ts.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocketClient } from '../src/sdk/client.js';
import { cleanUp, docketAs, ROOT, startServer, tempDir, type Server } from './helpers/cli.js';
import { until } from './helpers/process.js';

let server: Server;
let api: DocketClient;
const docket = (...args: string[]) => docketAs(server.token, server.url, ...args);
async function ok(...args: string[]): Promise<string> {
  const run = await docket(...args);
  expect(run.code, `docket ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

/** `n` jobs that failed for good with `message <i>`, once they have. */
async function deadLetters(message: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await api.submit({ type: 'fail', payload: { message: `${message} ${i}` }, maxAttempts: 1 })).id);
  await until(`${n} dead letters "${message}"`, async () => ((await api.deadLetters({ error: message })).jobs.length === n ? true : undefined), 60_000);
  return ids;
}

beforeAll(async () => {
  server = await startServer(tempDir());
  api = new DocketClient({ baseUrl: server.url, token: server.token });
}, 60_000);
afterAll(cleanUp);

describe('docket dead-letters', { timeout: 240_000 }, () => {
  it('lists with filters, shows one with its errors, and refuses a requeue or purge with no selection or two', async () => {
    const [first, second] = await deadLetters('disk full', 2);
    const all = JSON.parse(await ok('dead-letters', 'list', '--error', 'disk full', '--type', 'fail', '--queue', 'default', '--failed-after', '2000-01-01T00:00:00Z', '--failed-before', '2999-01-01T00:00:00Z'));
    expect(all.jobs.map((j: { id: string }) => j.id).sort()).toEqual([first, second].sort());
    const [page, none, shown, table] = await Promise.all([
      ok('dead-letters', 'list', '--error', 'disk full', '--limit', '1', '-o', 'table'),
      docket('dead-letters', 'list', '--error', 'disk full', '--failed-before', '2000-01-01T00:00:00Z', '-o', 'table'),
      ok('dead-letters', 'show', first!),
      docket('dead-letters', 'list', '--limit', '0'),
    ]);
    // One row and, on stderr of that run, the cursor of the next page (checked through JSON below).
    expect(page.trim().split('\n')).toHaveLength(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toBe('no jobs\n');
    expect(JSON.parse(shown)).toMatchObject({ id: first, state: 'failed', errors: [{ message: 'disk full 0' }] });
    expect(table.code).toBe(2);
    expect(table.stderr).toContain('--limit 0: must be a whole number from 1 to 500');
    const one = JSON.parse(await ok('dead-letters', 'list', '--error', 'disk full', '--limit', '1'));
    const next = JSON.parse(await ok('dead-letters', 'list', '--error', 'disk full', '--limit', '1', '--cursor', one.nextCursor));
    expect([one.jobs[0].id, next.jobs[0].id].sort()).toEqual([first, second].sort());

    const [nothing, both, missing, dryUnknown] = await Promise.all([
      docket('dead-letters', 'requeue'),
      docket('dead-letters', 'purge', first!, '--error', 'disk'),
      docket('dead-letters', 'show', '01900000-0000-7000-8000-000000000000'),
      ok('dead-letters', 'requeue', first!, '01900000-0000-7000-8000-000000000000', '--dry-run'),
    ]);
    // A dry run leaves out the ids that are no dead letter.
    expect(JSON.parse(dryUnknown).jobs.map((j: { id: string }) => j.id)).toEqual([first]);
    expect([nothing.code, nothing.stderr]).toEqual([2, 'docket: give job ids, filter options, or --all to requeue every dead letter\n']);
    expect([both.code, both.stderr]).toEqual([2, 'docket: give ids or filter options, not both\n']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^docket: .*not found/);
    expect((await api.deadLetters({ error: 'disk full' })).jobs).toHaveLength(2);
  });

  it('requeues by id and purges by filter up to --max, printing what it did', async () => {
    const [a] = await deadLetters('quota hit', 3);
    const requeued = JSON.parse(await ok('dead-letters', 'requeue', a!));
    expect(requeued).toEqual({ requeued: 1, ids: [a] });
    // Back to the queue with a fresh attempt, which fails again: two errors in its history.
    await until('the requeued job failed again', async () => ((await api.get(a!)).errors.length === 2 ? true : undefined), 60_000);
    expect(await api.get(a!)).toMatchObject({ state: 'failed' });
    const purged = JSON.parse(await ok('dead-letters', 'purge', '--error', 'quota hit', '--max', '2'));
    expect(purged).toEqual({ purged: 2 });
    expect((await api.deadLetters({ error: 'quota hit' })).jobs).toHaveLength(1);
    const rest = await ok('dead-letters', 'purge', '--all', '-o', 'table');
    expect(rest).toMatch(/^purged: {2}\d+\n$/);
    expect((await api.deadLetters({})).jobs).toEqual([]);
  });

  it('on a terminal, requeues in chunks with a progress bar on stderr and prints the same reply', async () => {
    const ids = await deadLetters('tty run', 2);
    // script(1) gives the command a terminal, as an operator's shell would.
    const run = spawnSync('script', ['-qec', 'node bin/docket dead-letters requeue --error "tty run" -o json', '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, DOCKET_URL: server.url, DOCKET_TOKEN: server.token, DOCKET_NO_PROGRESS: '' },
      encoding: 'utf8',
    });
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toContain('finding dead letters [');
    expect(run.stdout).toMatch(/requeueing \[[^\]]*\] 2\/2/);
    const reply = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
    expect(reply.requeued).toBe(2);
    expect([...reply.ids].sort()).toEqual([...ids].sort());

    // Given ids, nothing to find first: straight to the bar.
    await until('both failed again', async () => ((await api.deadLetters({ error: 'tty run' })).jobs.length === 2 ? true : undefined), 60_000);
    const purge = spawnSync('script', ['-qec', `node bin/docket dead-letters purge ${ids.join(' ')} -o json`, '/dev/null'], {
      cwd: ROOT,
      env: { ...process.env, DOCKET_URL: server.url, DOCKET_TOKEN: server.token, DOCKET_NO_PROGRESS: '' },
      encoding: 'utf8',
    });
    expect(purge.status, purge.stdout).toBe(0);
    expect(purge.stdout).not.toContain('finding dead letters');
    expect(purge.stdout).toMatch(/purging \[[^\]]*\] 2\/2/);
    expect(JSON.parse(purge.stdout.slice(purge.stdout.indexOf('{')))).toEqual({ purged: 2 });
  });
});

describe('docket conditions', { timeout: 180_000 }, () => {
  it('lists none with a note, and names an unknown condition for show and each action', async () => {
    const [list, json, show, release, drain, fail] = await Promise.all([
      docket('conditions', 'list', '-o', 'table'),
      ok('conditions', 'list'),
      docket('conditions', 'show', 'smtp:down'),
      docket('conditions', 'release', 'smtp:down'),
      docket('conditions', 'drain', 'smtp:down'),
      docket('conditions', 'fail', 'smtp:down'),
    ]);
    expect([list.code, list.stdout, list.stderr]).toEqual([0, '', 'no conditions\n']);
    expect(JSON.parse(json)).toEqual({ conditions: [] });
    for (const run of [show, release, drain, fail]) {
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('smtp:down');
    }
  });
});
