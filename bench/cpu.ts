/**
 * CPU time a system spends per job during the drain, from /proc: its own processes (workers,
 * server; the benchmark process itself for Docket embedded), the PostgreSQL backends serving it,
 * (not the benchmark's own connections, application_name `bench-harness`), and the Redis server (shared with the machine's other users: an upper bound). CPU per job is
 * far steadier than jobs/s on a shared machine: other load slows a system down, but does not
 * make it do more work per job.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

const TICK = 100; // USER_HZ

/** CPU time (user + system) a process has used, in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** This machine's processes whose /proc/<pid>/<file> passes `test` (e.g. comm starts with `redis-server`). */
export function pidsWhere(file: 'comm' | 'cmdline', test: (text: string) => boolean): number[] {
  try {
    return readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return test(readFileSync(`/proc/${p}/${file}`, 'utf8'));
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

const redisPids = () => pidsWhere('comm', (comm) => comm.startsWith('redis-server'));

/** Which processes serve a system: its own, and how to find its PostgreSQL backends. */
export interface CpuScope {
  own: number[];
  /** pg_stat_activity filter: the system's database, or an application_name prefix. */
  database?: string;
  applicationPrefix?: string;
  redis: boolean;
}

export type CpuSnapshot = Map<string, Map<number, number>>;

export async function cpuSnapshot(adminUrl: string, scope: CpuScope): Promise<CpuSnapshot> {
  const out: CpuSnapshot = new Map();
  out.set('processes', new Map(scope.own.map((p) => [p, cpuSeconds(p)])));
  if (scope.database || scope.applicationPrefix) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND application_name <> 'bench-harness' AND (datname = $1 OR starts_with(application_name, $2))`,
        [scope.database ?? null, scope.applicationPrefix ?? null],
      );
      out.set('postgres', new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)])));
    } finally {
      await client.end();
    }
  }
  if (scope.redis) out.set('redis', new Map(redisPids().map((p) => [p, cpuSeconds(p)])));
  return out;
}

/** µs of CPU per job between two snapshots, by part; a process new in `b` counts from 0. */
export function cpuPerJob(a: CpuSnapshot, b: CpuSnapshot, jobs: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [part, pids] of b) {
    let s = 0;
    for (const [pid, v] of pids) s += v - (a.get(part)?.get(pid) ?? 0);
    out[part] = Math.round((s / jobs) * 1e6);
    total += out[part];
  }
  out.total = total;
  return out;
}
