/** ioredis connection options for BullMQ from a redis:// URL (BullMQ needs maxRetriesPerRequest: null). */
export function connection(url: string): { host: string; port: number; db?: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  const db = Number(u.pathname.slice(1) || 0);
  return { host: u.hostname, port: Number(u.port || 6379), ...(db ? { db } : {}), maxRetriesPerRequest: null };
}
