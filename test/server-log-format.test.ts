// Issue 22: the logs of `docket server` as an operator reads them: one JSON object a line in JSON
// mode (shutdown included), readable lines in pretty mode, failed jobs at warn and error, a
// shutdown that says what it waits for, and a port already in use said in one line.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, docketAs, spawnDocket, startServer, tempDir } from './helpers/cli.js';
import { until } from './helpers/process.js';

afterAll(cleanUp);

describe('docket server logs', { timeout: 240_000 }, () => {
  it('--log-format json: every line JSON, job failures at warn then error, a shutdown that says what it waits for', async () => {
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
    expect(entries.find((e) => e.msg.startsWith('job attempt failed'))).toMatchObject({ level: 40, attempt: 1, error: 'no disk' });
    expect(entries.find((e) => e.msg.startsWith('job failed on its last attempt'))).toMatchObject({ level: 50, attempt: 2, error: 'no disk' });
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
});
