/** The worker processes of a peer: `node bench/dist/bench/peers/<name>-worker.js`, settings in BENCH_* env vars. */
import { fileURLToPath } from 'node:url';
import { Proc } from '../production.js';
import { peakRssOf } from '../proc-stats.js';

export class WorkerProcesses {
  private procs: Proc[] = [];

  constructor(
    private readonly script: string,
    private readonly count: number,
    private readonly env: Record<string, string>,
    private readonly nodeArgs: readonly string[] = [],
  ) {}

  start(signalPort: number): void {
    if (this.procs.length > 0) return;
    const file = fileURLToPath(new URL(`./${this.script}.js`, import.meta.url));
    for (let i = 0; i < this.count; i++) {
      this.procs.push(new Proc(`${this.script} ${i + 1}`, [...this.nodeArgs, file], { ...process.env, ...this.env, BENCH_SIGNAL_PORT: String(signalPort) }));
    }
  }

  assertAlive(): void {
    for (const p of this.procs) p.assertAlive();
  }

  pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  peakRss(): Record<string, number> {
    return Object.fromEntries(this.procs.map((p) => [p.name, peakRssOf(p.pid)]));
  }

  async stop(): Promise<void> {
    const procs = this.procs;
    this.procs = [];
    await Promise.all(procs.map((p) => p.stop()));
  }
}

/** Settings from the environment of a worker process (set by the benchmark). */
export function envSettings<T>(): T {
  return JSON.parse(process.env.BENCH_SETTINGS ?? '{}') as T;
}
