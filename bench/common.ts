import { SingleBar, Presets } from 'cli-progress';

export interface BenchSettings {
  jobs: number;
  /** Worker slots (embedded: the one worker; production: each worker process). */
  concurrency: number;
  latencyJobs: number;
  runs: number;
  /** Production: worker processes. */
  workers: number;
  /** Production: base URL of the PostgreSQL database (each run gets its own schema in it). */
  databaseUrl: string;
  redisUrl: string;
  /** Production: PostgreSQL `synchronous_commit` of Docket's connections; null = the server's setting. */
  synchronousCommit: string | null;
  /** Production: more PostgreSQL connection options for Docket's processes (`-c name=value ...`), e.g. for auto_explain. */
  pgOptions: string;
  /** Production: extra node flags for the worker processes (e.g. --cpu-prof). */
  workerNodeArgs: string[];
  /** Production: extra node flags for the server process. */
  serverNodeArgs: string[];
  /** Production: Kafka brokers the cluster publishes its lifecycle events to; null: none. */
  kafkaBrokers: string | null;
}

export interface RunResult {
  enqueuePerSec: number;
  drainPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Anything else a mode measured (production: verification counts, per-worker shares...). */
  details?: Record<string, unknown>;
}

/** `sorted` ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function progressBar(label: string): SingleBar {
  return new SingleBar({ format: `${label} {phase} [{bar}] {value}/{total}`, stream: process.stderr }, Presets.shades_classic);
}
