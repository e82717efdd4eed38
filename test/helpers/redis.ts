import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.DOCKET_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestPrefix {
  url: string;
  /** A fresh key prefix, e.g. `docket-test:<uuid>:`, so tests never see each other's keys. */
  prefix: string;
  /** Deletes every key under the prefix (SCAN + UNLINK; never FLUSHALL: the server is shared). */
  cleanup(): Promise<void>;
}

/** Reserves a random key prefix on the test Redis. */
export async function openTestPrefix(): Promise<TestPrefix> {
  const prefix = `docket-test:${randomUUID()}:`;
  return { url: TEST_REDIS_URL, prefix, cleanup: () => deleteKeys(TEST_REDIS_URL, prefix) };
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
