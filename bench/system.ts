/**
 * What every system under test (Docket embedded, Docket production, BullMQ, graphile-worker,
 * pg-boss) implements for the scenarios. Each scenario calls these in the same order for every
 * system, so the differences measured are the systems' own.
 */
import type { CpuScope } from './cpu.js';
import type { Bar } from './progress.js';
import type { MemoryResult } from './scenarios/memory.js';
import type { Signals } from './signals.js';

export interface System {
  readonly name: string;
  /** Runs inside the benchmark process (no worker processes to start). */
  readonly inProcess?: boolean;
  /** The configuration in use, printed with the results. */
  readonly settings: object;
  /** Library and server versions. */
  versions(): Promise<Record<string, string>>;
  /** A fresh, empty store (own database, schema or key prefix). */
  setup(): Promise<void>;
  /** Enqueue n (≤ 1,000) no-op jobs with the system's bulk API, one call. */
  enqueueBatch(n: number): Promise<void>;
  /** Enqueue one probe job with the single-job API; its handler reports `key` from its first line. */
  submitProbe(key: string): Promise<void>;
  /** Start the workers (processes where the system runs them apart); they run until stopWorkers. */
  startWorkers(): Promise<void>;
  /** Jobs not finished yet, as the store says (queued, running, or completed but not yet recorded). */
  pending(): Promise<number>;
  stopWorkers(): Promise<void>;
  /** Peak RSS (VmHWM) in bytes of each of the system's own processes still running. */
  peakRss(): Record<string, number>;
  /** The processes whose CPU counts as this system's (cpu.ts). */
  cpuScope(): CpuScope;
  /** Bytes the store holds for this system's jobs (tables and indexes; Redis keys). */
  storeBytes(): Promise<Record<string, number>>;
  /**
   * Runs the memory scenario in a process of its own and returns its result (an in-process system,
   * whose figure would otherwise be the benchmark process's). Absent: the scenario drives the system.
   */
  runMemory?(jobs: number, seconds: number, bar: Bar): Promise<MemoryResult>;
  /** Stops everything and drops the store. Safe to call twice. */
  teardown(): Promise<void>;
}

export interface SystemContext {
  signals: Signals;
  /** A database URL on the PostgreSQL server (admin: CREATE DATABASE / SCHEMA). */
  databaseUrl: string;
  redisUrl: string;
  /** Overrides of the system's own settings (`--config`), merged over its defaults. */
  overrides: Record<string, unknown>;
  /** Extra node flags for the worker and server processes the system spawns (e.g. --cpu-prof). */
  nodeArgs: string[];
}

export const SYSTEMS = ['docket-embedded', 'docket-production', 'bullmq', 'graphile-worker', 'pg-boss'] as const;
export type SystemName = (typeof SYSTEMS)[number];
