// Shared pieces of the hot-path micro-benchmarks: job ids, the no-op job the suite submits, a
// replica of today's in-memory dispatch (one lane), and CPU / memory readings from /proc.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** UUIDv7 text ids in creation order (48-bit ms time, then a counter in the random bits). */
let lastMs = 0;
let seq = 0;
const rnd = randomBytes(8).toString('hex');
export function uuidv7() {
  const ms = Date.now();
  if (ms !== lastMs) (lastMs = ms), (seq = 0);
  const t = ms.toString(16).padStart(12, '0');
  const s = (seq++).toString(16).padStart(7, '0');
  // 8-4-4-4-12: time(12) | 7 + 3 of seq | 8 + 3 of seq | 4 + rnd
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${s.slice(0, 3)}-8${s.slice(3, 6)}-${s.slice(6)}${rnd.slice(0, 11)}`;
}
/** The 16 bytes of a text UUID, and back. */
export const idBlob = (id) => Buffer.from(id.replaceAll('-', ''), 'hex');
export function idText(b) {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const DEFAULT_BACKOFF = { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: 0.2 };

/** What JobService.submit makes of `{ type: 'noop' }` for tenant `bench` (the suite's job). */
export function newJob(now) {
  const id = uuidv7();
  return {
    id, tenant: 'bench', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {},
    state: 'ready', runAt: now, expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: DEFAULT_BACKOFF,
    linkId: id, resubmittedFrom: null, createdAt: now, templateId: null, templateVersion: null, callbackUrl: null,
  };
}

/** A dispatch entry as toDispatchEntry makes it (src/domain/job.ts). */
export const entryOf = (j) => ({ id: j.id, queue: j.queue, tenant: j.tenant, priority: j.priority, dueAt: j.runAt, type: j.type });

const byDue = (a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id);

/**
 * Today's MemoryDispatch (src/adapters/memory/memory-dispatch.ts) for one queue, tenant, type and
 * priority, which is what the benchmark submits: every ready entry in a binary heap plus the
 * `ready` map of live entries (lazy deletion), the same objects and the same comparator.
 */
export class HeapDispatch {
  heap = [];
  ready = new Map();
  enqueue(entries) {
    for (const e of entries) {
      this.ready.set(e.id, e);
      this.push(e);
    }
  }
  take(max) {
    const out = [];
    while (out.length < max && this.heap.length > 0) {
      const e = this.pop();
      if (this.ready.get(e.id) !== e) continue;
      this.ready.delete(e.id);
      out.push(e);
    }
    return out;
  }
  get size() {
    return this.ready.size;
  }
  push(e) {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!byDue(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop() {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && byDue(h[l], h[m])) m = l;
        if (r < h.length && byDue(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/** CPU seconds of each thread of this process (utime + stime from /proc/self/task/TID/stat). */
export function threadCpu() {
  const tick = 100;
  const out = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const s = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out[tid] = (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Peak and current resident set (MiB) from /proc/self/status. */
export function rss() {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)[1]);
  return { peakMiB: kb('VmHWM') / 1024, nowMiB: kb('VmRSS') / 1024 };
}

/** Size of the database file plus its WAL, MiB. */
export function fileMiB(path) {
  const size = (p) => (existsSync(p) ? statSync(p).size : 0);
  return (size(path) + size(`${path}-wal`)) / 2 ** 20;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
