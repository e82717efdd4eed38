/**
 * Docket embedded as a system under test: SQLite file in a temp directory (WAL,
 * synchronous=NORMAL), in-memory dispatch and one in-process worker, all in the benchmark's own
 * process, as `--mode embedded` runs it. Enqueue through jobs.submitter.submit, 1,000 jobs per call.
 * The fairness scenario sets `fairnessRules` for its own step (the engine opens with them).
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EMPTY_FILE_CONFIG } from '../../src/config/index.js';
import { openEmbedded, type Docket } from '../../src/app/docket.js';
import type { FairnessConfig } from '../../src/domain/fairness.js';
import { LocalTransport } from '../../src/sdk/local-transport.js';
import { Worker } from '../../src/sdk/worker.js';
import { work } from '../handlers.js';
import { ROOT } from '../paths.js';
import { peakRssOf } from '../proc-stats.js';
import type { CpuScope } from '../cpu.js';
import type { WorkerSetup } from '../scenarios/fairness.js';
import type { Proc } from '../production.js';
import type { Bar } from '../progress.js';
import type { MemoryResult } from '../scenarios/memory.js';
import { startEmbeddedServer, type RemoteServer } from './remote.js';
import type { System, SystemContext } from '../system.js';

export interface TenantJob {
  type: string;
  queue?: string;
  priority?: number;
  payload?: unknown;
}

export interface Start {
  tenant: string;
  queue: string;
  priority: number;
  startedAt: number;
}

export interface DocketEmbeddedSettings {
  concurrency: number;
  sqliteSync: 'normal' | 'full';
}

const silent = pino({ level: 'silent' });

export class DocketEmbeddedSystem implements System {
  readonly name = 'docket-embedded';
  readonly inProcess = true;
  readonly settings: DocketEmbeddedSettings;
  private dir = '';
  private docket: Docket | null = null;
  private worker: Worker | null = null;
  /** The scale scenario's server process (remoteServer), if started. */
  private remote: Proc | null = null;
  private submitted = 0;
  private completed = 0;
  /** Start records of the fairness scenario's job types (`mark`, `work`). */
  private marks = new Map<string, Start[]>();
  fairnessRules: FairnessConfig | null = null;

  constructor(private readonly ctx: SystemContext) {
    this.settings = { concurrency: 200, sqliteSync: 'normal', ...(ctx.overrides as Partial<DocketEmbeddedSettings>) };
  }

  async versions(): Promise<Record<string, string>> {
    const require = createRequire(import.meta.url);
    return { docket: (require(`${ROOT}package.json`) as { version: string }).version };
  }

  async setup(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'docket-bench-'));
    const rules = this.fairnessRules ? { rules: { ...EMPTY_FILE_CONFIG, fairness: this.fairnessRules } } : {};
    this.docket = await openEmbedded({ dataDir: this.dir, sqliteSync: this.settings.sqliteSync, ...rules });
    this.submitted = this.completed = 0;
    this.marks.clear();
    // Everything runs in this process: reset its peak RSS so that it covers this system's run only.
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      // not Linux: the peak covers the whole benchmark
    }
  }

  private readonly batch = Array.from({ length: 1000 }, () => ({ type: 'noop' }));
  async enqueueBatch(n: number): Promise<void> {
    await this.docket!.jobs.submitter.submit(n === 1000 ? this.batch : this.batch.slice(0, n), { tenant: 'bench' });
    this.submitted += n;
  }

  async submitProbe(key: string): Promise<void> {
    await this.docket!.jobs.submitter.submit([{ type: 'probe', payload: { k: key } }], { tenant: 'bench' });
    this.submitted++;
  }

  async submitAs(tenant: string, jobs: readonly TenantJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 1000) await this.docket!.jobs.submitter.submit(jobs.slice(i, i + 1000), { tenant });
    this.submitted += jobs.length;
  }

  async starts(type: string): Promise<Start[]> {
    return this.marks.get(type) ?? [];
  }

  async startWorkers(setup: WorkerSetup = {}): Promise<void> {
    if (this.worker) return;
    const signals = this.ctx.signals;
    let noops = 0;
    const worker = new Worker({
      transport: new LocalTransport(this.docket!.jobs),
      handlers: {
        noop: () => {
          if (noops++ === 0) signals.firstStart = Math.min(signals.firstStart, performance.timeOrigin + performance.now());
        },
        probe: (job) => signals.probe((job.payload as { k: string }).k, performance.now()),
        mark: (job) => void this.mark(job),
        work: (job, ctx) => {
          this.mark(job);
          return work(job, ctx);
        },
      },
      ...(setup.queues ? { queues: setup.queues } : {}),
      concurrency: setup.concurrency ?? this.settings.concurrency,
      logger: silent,
    });
    worker.on('completed', () => void this.completed++);
    this.worker = worker;
    await worker.start();
  }

  private mark(job: { type: string; tenant: string; queue: string; priority: number }): void {
    let list = this.marks.get(job.type);
    if (!list) this.marks.set(job.type, (list = []));
    list.push({ tenant: job.tenant, queue: job.queue, priority: job.priority, startedAt: performance.timeOrigin + performance.now() });
  }

  /** The scale scenario: a `docket server` process of its own (embedded mode, no worker) on a SQLite file in this setup's directory. */
  async remoteServer(leaseMs: number): Promise<RemoteServer> {
    await this.remote?.stop();
    const { proc, server } = await startEmbeddedServer(join(this.dir, 'remote'), leaseMs, this.ctx.nodeArgs);
    this.remote = proc;
    return server;
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    await this.docket!.jobs.pauses.set(queue, paused);
  }

  async pending(): Promise<number> {
    return this.submitted - this.completed;
  }

  async stopWorkers(): Promise<void> {
    await this.worker?.close();
    this.worker = null;
  }

  /**
   * The memory scenario in a process of its own (embedded-memory.ts), on a file of its own in
   * this setup's directory: its peak RSS is read while it still runs, after the work.
   */
  async runMemory(jobs: number, seconds: number, bar: Bar): Promise<MemoryResult> {
    const dir = join(this.dir, 'memory');
    mkdirSync(dir);
    const args = [dir, String(jobs), String(seconds), String(this.settings.concurrency), this.settings.sqliteSync];
    const child = fork(join(ROOT, 'bench/dist/bench/docket/embedded-memory.js'), args, { execArgv: this.ctx.nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const until = <T>(pick: (msg: Record<string, number>) => T | undefined) =>
      new Promise<T>((resolve, reject) => {
        const onMessage = (msg: Record<string, number>) => {
          const got = pick(msg);
          if (got === undefined) return;
          child.off('message', onMessage);
          resolve(got);
        };
        child.on('message', onMessage);
        void exited.then((code) => reject(new Error(`the memory process exited (${code}) before it was done`)));
      });
    try {
      bar.start(jobs, 0, { phase: 'memory: enqueue' });
      const enqueuePerSec = await until((msg) => {
        if (msg.enqueued !== undefined) bar.update(msg.enqueued);
        return msg.queued;
      });
      const storeBytes = { sqlite: fileBytes(dir) };
      bar.start(seconds, 0, { phase: 'memory: work' });
      child.send('work');
      await until((msg) => {
        if (msg.working !== undefined) bar.increment();
        return msg.worked;
      });
      const peak = peakRssOf(child.pid);
      child.send('exit');
      await exited;
      return { jobs, enqueuePerSec, storeBytes, peakRssBytes: { 'docket embedded process (engine, worker and submits)': peak } };
    } finally {
      child.kill();
    }
  }

  peakRss(): Record<string, number> {
    return { 'benchmark process (engine and worker inside)': peakRssOf(process.pid) };
  }

  cpuScope(): CpuScope {
    return { own: [process.pid], redis: false };
  }

  async storeBytes(): Promise<Record<string, number>> {
    return { sqlite: fileBytes(this.dir) };
  }

  async teardown(): Promise<void> {
    await this.stopWorkers();
    await this.remote?.stop();
    this.remote = null;
    await this.docket?.stop();
    this.docket = null;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}

/** The SQLite file and its WAL in `dir`. */
function fileBytes(dir: string): number {
  let bytes = 0;
  for (const f of ['docket.db', 'docket.db-wal']) {
    try {
      bytes += statSync(join(dir, f)).size;
    } catch {
      // no WAL file
    }
  }
  return bytes;
}
