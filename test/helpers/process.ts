// Helpers for tests that run Docket (and its workers) as child processes, as a user would.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** The environment of a child, without the DOCKET_*, OTEL_* (tracing) settings and PORT of the developer's shell. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('DOCKET_') || k.startsWith('OTEL_') || k === 'PORT') delete env[k];
  const set = Object.fromEntries(Object.entries(extra).filter((e): e is [string, string] => e[1] !== undefined));
  return { ...env, DOCKET_LOG_LEVEL: 'warn', ...set };
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends the processes a test left running. SIGKILL at once, except while `npm run coverage`
 * collects (NODE_V8_COVERAGE is set): a process killed that way writes no coverage, so each gets
 * SIGTERM and up to 5 s to exit on its own first.
 */
export async function stopAll(children: Iterable<ChildProcess>): Promise<void> {
  const running = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map((c) => new Promise((resolve) => c.once('exit', resolve)));
  if (process.env.NODE_V8_COVERAGE) {
    for (const c of running) c.kill('SIGTERM');
    await settles(Promise.all(exited), 5_000);
  }
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(exited);
}

/** Polls `probe` until it returns a value other than undefined; fails after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await pause(everyMs);
  }
}

/**
 * Resolves with what `promise` resolves to; fails after `ms`, naming `what`. A bound for a wait
 * that only a signal can end (a manual clock stands still), not a timing measurement.
 */
export async function within<T>(what: string, promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `p` settles within `ms` of real time. */
export async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
