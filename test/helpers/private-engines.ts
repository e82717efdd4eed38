// Engines a test owns, so that it may crash, stop and flush them: a PostgreSQL cluster of its own
// (initdb + pg_ctl in a temp dir, on a free port) and a redis-server of its own. The machine's shared
// PostgreSQL, Redis and Kafka are never touched. Everything started here is stopped by its pid.
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { freePort, until } from './process.js';

const run = promisify(execFile);
/** initdb and pg_ctl: DOCKET_TEST_PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin. */
const PG_BIN = process.env.DOCKET_TEST_PG_BIN ?? debianPgBin();

function debianPgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, versions[0] ?? '15', 'bin');
}

/** Runs a PostgreSQL tool as the `postgres` user when we are root (initdb refuses root). */
async function asPostgres(tool: string, args: string[]): Promise<string> {
  const root = process.getuid?.() === 0;
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, tool), ...args]] : [join(PG_BIN, tool), args];
  const { stdout } = await run(cmd, argv, { timeout: 60_000 });
  return stdout;
}

export interface PrivatePostgres {
  url: string;
  port: number;
  dir: string;
  /** The server crashes (every backend killed, no checkpoint) and comes back: `pg_ctl restart -m immediate`. */
  crashRestart(): Promise<void>;
  /** Down (immediate) until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and deletes its files. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-pg-'));
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  if (process.getuid?.() === 0) chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  // fsync off: a test cluster need not survive a power cut, and initdb is 3x faster without it.
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), ...args]);
  let running = false;
  const start = async () => {
    if (running) return;
    await ctl('-o', opts, '-w', '-t', '60', 'start');
    running = true;
  };
  const stop = async () => {
    running = false;
    await ctl('-m', 'immediate', '-w', 'stop');
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await start();
  return {
    url,
    port,
    dir,
    crashRestart: async () => {
      await stop();
      await start();
    },
    stop,
    start,
    destroy: async () => {
      const pidFile = join(data, 'postmaster.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : 0;
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => {
        if (pid) killQuietly(pid, 'SIGKILL');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh database on the private cluster (one per Docket cluster under test). */
export async function createDatabase(server: PrivatePostgres, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return server.url.replace(/\/postgres$/, `/${name}`);
}

export interface PrivateRedis {
  url: string;
  port: number;
  pid(): number;
  /** SIGTERM: with the append-only file on, Redis writes it out and the next start loads it (stopped, not flushed). */
  stop(): Promise<void>;
  start(): Promise<void>;
  flushAll(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-redis-'));
  const port = await freePort();
  const pidFile = join(dir, 'redis.pid');
  const url = `redis://127.0.0.1:${port}`;
  let pid = 0;
  const start = async () => {
    if (pid && alive(pid)) return;
    await run('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir, '--daemonize', 'yes', '--pidfile', pidFile, '--logfile', join(dir, 'redis.log')]);
    pid = await until('redis-server to write its pid', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined), 10_000);
    await until('redis-server to answer', async () => {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        return (await r.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      } finally {
        r.disconnect();
      }
    }, 10_000);
  };
  const stop = async () => {
    const p = pid;
    killQuietly(p, 'SIGTERM');
    await until('redis-server to exit', () => (alive(p) ? undefined : true), 15_000);
  };
  await start();
  return {
    url,
    port,
    pid: () => pid,
    stop,
    start,
    flushAll: async () => {
      const r = new Redis(url);
      try {
        await r.flushall();
      } finally {
        r.disconnect();
      }
    },
    destroy: async () => {
      if (alive(pid)) await stop().catch(() => killQuietly(pid, 'SIGKILL'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateKafka {
  /** `127.0.0.1:<port>` */
  brokers: string;
  /** Its data, config, pid file and logs (`logs/server.log`). */
  dir: string;
  /** The broker's JVM while it runs, else 0. */
  pid(): number;
  /** Controlled shutdown (SIGTERM to its pid, up to 30 s, then SIGKILL), then down until start(). */
  stop(): Promise<void>;
  /** On the same ports and data dir: what it had written is still there. */
  start(): Promise<void>;
  /** Every record of `topic` from the beginning, as kcat reads them (`-J`). */
  consume(topic: string): Promise<{ partition: number; offset: number; key: string | null; payload: string | null }[]>;
  destroy(): Promise<void>;
}

const KAFKA_SCRIPT = fileURLToPath(new URL('../../scripts/kafka.mjs', import.meta.url));

/**
 * A broker of scripts/kafka.mjs on free ports with its own data dir (DOCKET_KAFKA_DATA) and the
 * shared jars: stopping it touches no one else's broker (the script stops only the pid it wrote there).
 */
export async function startPrivateKafka(opts: { heap?: string } = {}): Promise<PrivateKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'docket-kafka-'));
  const [port, controller] = [await freePort(), await freePort()];
  const env = { ...process.env, DOCKET_KAFKA_DATA: dir, DOCKET_KAFKA_PORT: String(port), DOCKET_KAFKA_CONTROLLER_PORT: String(controller), DOCKET_KAFKA_HEAP: opts.heap ?? '384m' };
  const pidFile = join(dir, 'kafka.pid');
  const pid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || 0 : 0);
  const script = async (command: string) => {
    await run(process.execPath, [KAFKA_SCRIPT, command], { env, timeout: 180_000 });
  };
  const brokers = `127.0.0.1:${port}`;
  await script('start');
  return {
    brokers,
    dir,
    pid,
    stop: () => script('stop'),
    start: () => script('start'),
    consume: async (topic) => {
      const { stdout } = await run('kcat', ['-b', brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], { timeout: 60_000, maxBuffer: 512 * 1024 * 1024 });
      return stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { partition: number; offset: number; key: string | null; payload: string | null });
    },
    destroy: async () => {
      const last = pid();
      await script('stop').catch(() => {});
      // The script could not stop it (it timed out, or its pid file is gone): never leave a JVM behind.
      if (last && runsIn(last, dir)) killQuietly(last, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether `pid` is a live process whose command line names `dir` (not a recycled pid). */
function runsIn(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    if (pid > 0) process.kill(pid, signal);
  } catch {
    // already gone
  }
}
