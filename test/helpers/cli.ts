// Helpers for tests that run `docket` as a user does: `docket server` as a child process on a
// temporary data dir with the shipped examples/handlers.js, and CLI commands against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, freePort, stopAll, until } from './process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set<ChildProcess>();
const dirs: string[] = [];

/** Kills what the test left running and removes its directories (call in afterEach/afterAll). */
export async function cleanUp(): Promise<void> {
  await stopAll(children);
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'docket-cli-'));
  dirs.push(d);
  return d;
}

export interface Server {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The admin token the server printed on the first start of its data dir ('' on later starts). */
  token: string;
  /** Everything the server printed so far. */
  output(): string;
  /** What it printed on stdout (its log). */
  stdout(): string;
}

/** Starts `docket server` on `dataDir` and resolves once GET /healthz answers. */
export async function startServer(dataDir: string, port?: number, env: Record<string, string> = {}): Promise<Server> {
  const p = port ?? (await freePort());
  // A first start prints an admin token, right after it starts listening: wait for that too.
  const firstStart = !existsSync(join(dataDir, 'jwt-secret')) && !env.DOCKET_JWT_SECRET;
  const child = spawn(process.execPath, ['bin/docket', 'server'], {
    cwd: ROOT,
    env: cleanEnv({ DOCKET_DATA_DIR: dataDir, PORT: String(p), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${p}`;
  await until('GET /healthz', async () => {
    if (child.exitCode !== null) throw new Error(`docket server exited with ${child.exitCode}:\n${output}`);
    const res = await fetch(`${url}/healthz`).catch(() => undefined);
    return res?.ok && (!firstStart || /export DOCKET_TOKEN=\S+\n/.test(output)) ? true : undefined;
  }, 45_000); // a cold start on a busy 2-core machine has taken over 15 s
  const token = /export DOCKET_TOKEN=(\S+)/.exec(output)?.[1] ?? '';
  return { url, child, exited, token, output: () => output, stdout: () => stdout };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `docket <args>` with `env` (over a clean environment); killed if it takes over 60 s. */
export function spawnDocket(env: Record<string, string | undefined>, args: string[]) {
  const child = spawn(process.execPath, ['bin/docket', ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<Run>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    }),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `docket <args>` against `url` as `token` (env DOCKET_URL and DOCKET_TOKEN). */
export function docketAs(token: string, url: string, ...args: string[]): Promise<Run> {
  return spawnDocket({ DOCKET_URL: url, DOCKET_TOKEN: token }, args).done;
}
