/** Process and store measurements shared by the systems. */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import pg from 'pg';

/** Peak resident set (VmHWM) of a process in bytes; 0 when it is gone or there is no /proc. */
export function peakRssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Tables, indexes and TOAST of one schema. */
export async function schemaBytes(url: string, schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string | null }>(
      `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
      [schema],
    );
    return Number(rows[0]?.bytes ?? 0);
  } finally {
    await client.end();
  }
}

/** MEMORY USAGE summed over the keys under a prefix (SCAN; never KEYS on a shared server). */
export async function redisBytes(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let bytes = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) {
      const pipeline = redis.pipeline();
      for (const k of keys) pipeline.memory('USAGE', k, 'SAMPLES', '0');
      for (const [err, v] of (await pipeline.exec()) ?? []) if (!err) bytes += Number(v ?? 0);
    }
    cursor = next;
  } while (cursor !== '0');
  return bytes;
}

/** The same URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
