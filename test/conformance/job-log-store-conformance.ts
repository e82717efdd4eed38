import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_CHARS, type NewLogLine } from '../../src/domain/job-log.js';
import type { JobLogStore } from '../../src/ports/job-log-store.js';

export interface LogStoreHarness {
  store: JobLogStore;
  cleanup(): Promise<void>;
}

const line = (jobId: string, n: number, extra: Partial<NewLogLine> = {}): NewLogLine => ({ jobId, attempt: 1, at: 1_000 + n, level: 'info', message: `line ${n}`, ...extra });
const BIG = 1 << 30;

/** What every JobLogStore adapter must do (ports/job-log-store.ts), against its real engine. */
export function describeJobLogStoreConformance(name: string, open: () => Promise<LogStoreHarness>): void {
  describe(`JobLogStore conformance: ${name}`, () => {
    let h: LogStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('keeps each job\'s lines in the order written, with level, fields and attempt', async () => {
      await h.store.append([line('a', 1), line('b', 1), line('a', 2, { level: 'error', fields: { orderId: 7, nested: { ok: true } } })], BIG);
      await h.store.append([line('a', 3, { attempt: 2, level: 'debug' })], BIG);
      const { lines, dropped } = await h.store.read('a', { after: 0, limit: 100 });
      expect(dropped).toBe(0);
      expect(lines.map((l) => [l.message, l.attempt, l.level])).toEqual([['line 1', 1, 'info'], ['line 2', 1, 'error'], ['line 3', 2, 'debug']]);
      expect(lines[1]!.fields).toEqual({ orderId: 7, nested: { ok: true } });
      expect(lines[0]!.fields).toBeUndefined();
      expect(lines[0]!.at).toBe(1001);
      expect((await h.store.read('b', { after: 0, limit: 100 })).lines.map((l) => l.message)).toEqual(['line 1']);
      expect((await h.store.read('nobody', { after: 0, limit: 100 })).lines).toEqual([]);
    });

    it('pages by line id, and filters by attempt and least level', async () => {
      await h.store.append([1, 2, 3, 4, 5].map((n) => line('a', n, { attempt: n <= 3 ? 1 : 2, level: n % 2 ? 'info' : 'warn' })), BIG);
      const first = await h.store.read('a', { after: 0, limit: 2 });
      expect(first.lines.map((l) => l.message)).toEqual(['line 1', 'line 2']);
      const next = await h.store.read('a', { after: first.lines[1]!.id, limit: 10 });
      expect(next.lines.map((l) => l.message)).toEqual(['line 3', 'line 4', 'line 5']);
      expect((await h.store.read('a', { after: 0, attempt: 2, limit: 10 })).lines.map((l) => l.message)).toEqual(['line 4', 'line 5']);
      expect((await h.store.read('a', { after: 0, minLevel: 40, limit: 10 })).lines.map((l) => l.message)).toEqual(['line 2', 'line 4']);
      expect((await h.store.read('a', { after: 0, minLevel: 40, attempt: 1, limit: 10 })).lines.map((l) => l.message)).toEqual(['line 2']);
    });

    it('drops a job\'s oldest lines past its cap, keeps the newest, and counts what it dropped', async () => {
      // 100 lines of 10 bytes ("line 0000" + padding) under a cap of 300 bytes.
      const cap = 300;
      for (let batch = 0; batch < 10; batch++) {
        await h.store.append(Array.from({ length: 10 }, (_, i) => line('a', batch * 10 + i, { message: `line ${String(batch * 10 + i).padStart(5, '0')}` })), cap);
      }
      await h.store.append([line('other', 1)], cap);
      const { lines, dropped } = await h.store.read('a', { after: 0, limit: 1000 });
      const bytes = lines.reduce((n, l) => n + l.message.length, 0);
      expect(bytes).toBeLessThanOrEqual(cap);
      expect(lines.at(-1)!.message).toBe('line 00099');
      expect(dropped + lines.length).toBe(100);
      expect(dropped).toBeGreaterThan(0);
      // Only the oldest went: what is left is the tail, in order.
      expect(lines.map((l) => l.message)).toEqual(Array.from({ length: lines.length }, (_, i) => `line ${String(100 - lines.length + i).padStart(5, '0')}`));
      expect((await h.store.read('other', { after: 0, limit: 10 })).dropped).toBe(0);
    });

    it('cuts an over-long message, and counts fields toward the cap', async () => {
      await h.store.append([line('a', 1, { message: 'x'.repeat(MAX_MESSAGE_CHARS + 500) })], BIG);
      const [l] = (await h.store.read('a', { after: 0, limit: 1 })).lines;
      expect(l!.message.startsWith('x'.repeat(MAX_MESSAGE_CHARS))).toBe(true);
      expect(l!.message).toContain(`cut at ${MAX_MESSAGE_CHARS} characters`);
      await h.store.append([line('b', 1, { message: 'm', fields: { blob: 'y'.repeat(200) } }), line('b', 2, { message: 'n' })], 150);
      expect((await h.store.read('b', { after: 0, limit: 10 })).lines.map((x) => x.message)).toEqual(['n']);
    });

    it('forgets the logs of deleted jobs, and only theirs', async () => {
      await h.store.append([line('a', 1), line('a', 2), line('b', 1)], BIG);
      await h.store.append([line('a', 3)], 12);
      expect(await h.store.delete(['a', 'missing'])).toBeGreaterThan(0);
      expect(await h.store.read('a', { after: 0, limit: 10 })).toEqual({ lines: [], dropped: 0 });
      expect((await h.store.read('b', { after: 0, limit: 10 })).lines).toHaveLength(1);
      expect(await h.store.delete([])).toBe(0);
    });
  });
}
