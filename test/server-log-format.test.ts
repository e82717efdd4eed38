// Issue 22: the logs of `docket server` as an operator reads them: one JSON object a line in JSON
// mode (shutdown included), readable lines in pretty mode, failed attempts at warn and the dead
// letter at error, recovery conditions and alerts as they open and close, every 5xx at error with
// its request, a shutdown that says what it waits for, and a port already in use said in one line.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, docketAs, spawnDocket, startServer, tempDir, type Server } from './helpers/cli.js';
import { until } from './helpers/process.js';

afterAll(cleanUp);

describe('docket server logs', { timeout: 240_000 }, () => {
  it('--log-format json: every line JSON, failed attempts at warn, the dead letter at error, a shutdown that says what it waits for', async () => {
    const server = await startServer(tempDir(), undefined, { DOCKET_LOG_LEVEL: 'info', DOCKET_LOG_FORMAT: 'json' });
    const failed = await docketAs(server.token, server.url, 'submit', 'fail', '--payload', '{"message":"no disk"}', '--max-attempts', '2', '--wait');
    expect(failed.code).toBe(1);

    // Port taken: one line saying so, exit 2, no stack.
    const port = new URL(server.url).port;
    const second = await spawnDocket({ DOCKET_DATA_DIR: tempDir(), PORT: port }, ['server']).done;
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect(second.stderr).not.toMatch(/^\s+at /m);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const lines = server.stdout().trim().split('\n');
    const entries = lines.map((l) => {
      try {
        return JSON.parse(l) as { level: number; msg: string; attempt?: number; error?: string };
      } catch {
        throw new Error(`not JSON: ${l}`);
      }
    });
    // The worker's view of each attempt at warn; the dead letter once, at error, by the engine.
    expect(entries.filter((e) => e.msg.startsWith('job attempt failed'))).toMatchObject([
      { level: 40, attempt: 1, error: 'no disk' },
      { level: 40, attempt: 2, error: 'no disk' },
    ]);
    expect(entries.filter((e) => e.msg.startsWith('job dead-lettered'))).toMatchObject([{ level: 50, attempts: 2, error: 'no disk' }]);
    expect(entries.find((e) => e.msg.startsWith('SIGTERM received'))!.msg).toMatch(/shutting down: \d+ running in-process jobs to finish/);
    expect(entries.at(-1)!.msg).toBe('shut down');
  });

  it('DOCKET_LOG_FORMAT=pretty: readable lines', async () => {
    const server = await startServer(tempDir(), undefined, { DOCKET_LOG_LEVEL: 'info', DOCKET_LOG_FORMAT: 'pretty' });
    await until('the pretty log', () => (/INFO: Docket listening on/.test(server.stdout()) ? true : undefined), 60_000);
    server.child.kill('SIGTERM');
    await server.exited;
    expect(server.stdout()).not.toContain('{"level"');
    expect(server.stdout()).toMatch(/INFO: SIGTERM received, shutting down: /);
  });

  it('engine changes at their level, with their fields: a dead letter, a recovery condition, an alert, a 5xx', async () => {
    const dir = tempDir();
    const config = join(dir, 'docket.json');
    writeFileSync(config, JSON.stringify({
      recovery: {
        classify: [{ match: { message: '^upstream (\\w+) down' }, outcome: 'transient', condition: 'service:$1' }],
        policies: [{ conditions: 'service:*', probeEverySeconds: 0.2, release: { perSecond: 100 } }],
      },
      alerts: { evaluateEverySeconds: 1, rules: [{ name: 'held-backlog', kind: 'queue-depth', queue: 'held', above: 0 }] },
    }));
    // The upstream of `pay` is down while this file exists.
    const payDown = join(dir, 'pay-down');
    writeFileSync(payDown, '');
    const handlers = join(dir, 'handlers.js');
    writeFileSync(handlers, `import { existsSync } from 'node:fs';
    export const handlers = {
      fail: async (job) => { throw new Error(job.payload.message); },
      pay: async () => { if (existsSync(${JSON.stringify(payDown)})) throw new Error('upstream pay down'); return { paid: true }; },
    };`);
    const server = await startServer(dir, undefined, { DOCKET_LOG_LEVEL: 'info', DOCKET_LOG_FORMAT: 'json', DOCKET_CONFIG: config, DOCKET_HANDLERS: handlers });
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${server.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const submit = async (job: object) => ((await (await call('POST', '/v1/jobs', job)).json()) as { id: string }).id;

    // A dead letter: no attempt left.
    const dead = await submit({ type: 'fail', payload: { message: 'disk full' }, maxAttempts: 1 });
    // A condition: the first attempt parks the job under service:pay, probes (every 0.2 s) park it
    // again until the upstream is back (below, once the condition opened), then one succeeds: the
    // condition clears and closes.
    await submit({ type: 'pay' });
    // An alert: a ready job in a queue nobody serves fires held-backlog; cancelling it resolves it.
    const held = await submit({ type: 'noop', queue: 'held' });
    const line = (what: string, match: (e: Entry) => boolean) => until(what, () => logOf(server).find(match), 30_000);
    await line('the alert firing', (e) => e.msg.startsWith('alert held-backlog firing'));
    expect((await call('POST', `/v1/jobs/${held}/cancel`)).status).toBe(200);
    // A 5xx: this server has no ingest rules, so POST /v1/events answers 501.
    const refused = await call('POST', '/v1/events', { specversion: '1.0', id: 'e-1', type: 'x', source: 'urn:t' });
    expect(refused.status).toBe(501);

    const deadLetter = await line('the dead letter', (e) => e.msg.startsWith('job dead-lettered'));
    expect(deadLetter).toMatchObject({ level: 50, jobId: dead, queue: 'default', type: 'fail', tenant: 'default', attempts: 1, maxAttempts: 1, reason: 'attempts_exhausted', error: 'disk full' });
    const opened = await line('the condition opening', (e) => e.msg.startsWith('recovery condition service:pay opened'));
    expect(opened).toMatchObject({ level: 40, condition: 'service:pay', queue: 'default', type: 'pay', error: 'upstream pay down' });
    rmSync(payDown); // the upstream is back
    expect(await line('the condition clearing', (e) => e.msg.startsWith('recovery condition service:pay cleared'))).toMatchObject({ level: 30, condition: 'service:pay' });
    expect(await line('the condition closing', (e) => e.msg.startsWith('recovery condition service:pay closed'))).toMatchObject({ level: 30, condition: 'service:pay', reason: 'all released' });
    expect(logOf(server).find((e) => e.msg.startsWith('alert held-backlog firing'))).toMatchObject({ level: 40, rule: 'held-backlog', kind: 'queue-depth', queue: 'held', value: 1 });
    expect(await line('the alert resolving', (e) => e.msg.startsWith('alert held-backlog resolved'))).toMatchObject({ level: 30, rule: 'held-backlog', queue: 'held', value: 0 });
    const failed = await line('the 5xx', (e) => e.msg === 'request failed');
    expect(failed).toMatchObject({ level: 50, method: 'POST', route: '/v1/events', url: '/v1/events', status: 501 });
    // The reply named the request: the client can hand the operator the line that explains it.
    expect(failed.reqId).toBe(refused.headers.get('x-request-id'));
    expect(failed.detail).toMatch(/no ingest rules/);
    // An id a proxy in front gave the request is kept.
    const given = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'x-request-id': 'lb-7f3a' }, body: '{}' });
    expect(given.headers.get('x-request-id')).toBe('lb-7f3a');
    await line('the 5xx of the proxied request', (e) => e.msg === 'request failed' && e.reqId === 'lb-7f3a');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    logOf(server); // every line JSON, to the last
  });
});

interface Entry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** The server's complete log lines so far, each parsed as JSON (a line that is not fails the test). */
function logOf(server: Server): Entry[] {
  const out = server.stdout();
  return out.slice(0, out.lastIndexOf('\n') + 1).split('\n').filter((l) => l !== '').map((l) => {
    try {
      return JSON.parse(l) as Entry;
    } catch {
      throw new Error(`not JSON: ${l}`);
    }
  });
}
