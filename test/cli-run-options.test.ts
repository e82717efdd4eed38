// The run options `docket worker` and `docket server` share (src/interfaces/cli/commands/run-options.ts):
// --concurrency and --queues as an operator types them, the SIGINT/SIGTERM shutdown that stops
// once and says what it waits for, and the warn line for each failed attempt.
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CliError, EXIT } from '../src/interfaces/cli/output.js';
import { logJobFailures, onShutdown, parseConcurrency, parseQueues } from '../src/interfaces/cli/commands/run-options.js';
import type { Worker } from '../src/sdk/worker.js';
import { until } from './helpers/process.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

function usageErrorOf(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    return err as CliError;
  }
  throw new Error('expected a usage error');
}

describe('--concurrency', () => {
  it('a positive whole number is that many slots', () => {
    expect(parseConcurrency('20')).toBe(20);
    expect(parseConcurrency('1')).toBe(1);
  });

  it('a JSON object is the priority pools', () => {
    expect(parseConcurrency('{"1-3":16,"4-7":6,"8-10":2}')).toEqual({ '1-3': 16, '4-7': 6, '8-10': 2 });
  });

  it('zero, negative, fractional, an array, null or text: refused as a usage error showing both forms', () => {
    for (const raw of ['0', '-3', '2.5', '[4]', 'null', 'ten', '']) {
      expect(usageErrorOf(() => parseConcurrency(raw)).message, raw).toBe(`--concurrency ${raw}: give a number of slots or JSON pools like '{"1-3":16,"4-7":6,"8-10":2}'`);
    }
  });
});

describe('--queues', () => {
  it('comma-separated names, spaces and empty entries dropped', () => {
    expect(parseQueues('mail, billing,,  reports ,')).toEqual(['mail', 'billing', 'reports']);
  });
});

describe('shutdown on SIGINT or SIGTERM', () => {
  const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
  afterEach(() => exit.mockClear());
  afterAll(() => exit.mockRestore());

  /** The handlers onShutdown adds, called as the signal would (emitting a real signal would reach vitest's own). */
  function install(stop: () => Promise<void>) {
    const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
    const { log, lines } = capture();
    onShutdown(log, () => '3 running jobs to finish', stop);
    const added = (s: 'SIGINT' | 'SIGTERM') => process.listeners(s).filter((l) => !before[s].includes(l)) as ((signal: string) => void)[];
    const handlers = { SIGINT: added('SIGINT'), SIGTERM: added('SIGTERM') };
    for (const s of ['SIGINT', 'SIGTERM'] as const) for (const h of handlers[s]) process.removeListener(s, h);
    return { lines, handlers };
  }

  it('stops once, saying what it waits for, logs "shut down" and exits 0', async () => {
    let stops = 0;
    const { lines, handlers } = install(async () => void stops++);
    expect(handlers.SIGINT).toHaveLength(1);
    expect(handlers.SIGTERM).toHaveLength(1);
    handlers.SIGTERM[0]!('SIGTERM');
    handlers.SIGINT[0]!('SIGINT'); // a second signal while stopping: no second stop
    await until('the exit', () => exit.mock.calls.length > 0 || undefined);
    expect(stops).toBe(1);
    expect(exit.mock.calls).toEqual([[0]]);
    expect(lines.map((l) => l.msg)).toEqual(['SIGTERM received, shutting down: 3 running jobs to finish', 'shut down']);
    expect(lines[0]).toMatchObject({ signal: 'SIGTERM', level: 30 });
    expect(lines[1]).toMatchObject({ ms: expect.any(Number) });
  });

  it('a stop that fails is logged at error with its cause and exits 1', async () => {
    const { lines, handlers } = install(async () => {
      throw new Error('pool close timed out');
    });
    handlers.SIGINT[0]!('SIGINT');
    await until('the exit', () => exit.mock.calls.length > 0 || undefined);
    expect(exit.mock.calls).toEqual([[1]]);
    expect(lines[1]).toMatchObject({ level: 50, msg: 'shutdown failed', err: { message: 'pool close timed out' } });
  });
});

describe('failed attempts in the worker log', () => {
  const job = { id: 'j1', type: 'mail', queue: 'default', attempt: 1, maxAttempts: 3 };

  it('a warn line per failed attempt, saying whether it will be retried', () => {
    const worker = new EventEmitter();
    const { log, lines } = capture();
    logJobFailures(worker as unknown as Worker, log);
    worker.emit('failed', job, { message: 'SMTP 451' });
    worker.emit('failed', { ...job, attempt: 3 }, { message: 'SMTP 451' });
    worker.emit('failed', job, { message: 'bad address', retryable: false });
    expect(lines.map((l) => [l.level, l.attempt, l.msg])).toEqual([
      [40, 1, 'job attempt failed; it will be retried'],
      [40, 3, 'job attempt failed; it was its last (unless a recovery policy parks it)'],
      [40, 1, 'job attempt failed; it was its last (unless a recovery policy parks it)'],
    ]);
    expect(lines[0]).toMatchObject({ jobId: 'j1', type: 'mail', queue: 'default', maxAttempts: 3, error: 'SMTP 451' });
  });
});
