// The embedded engine with a backlog larger than its dispatch window (memory-dispatch.ts,
// bucket.ts): the dispatch holds the head of each bucket and reads the rest from the SQLite file.
// What a user checks: every job runs once, in order, tenants still take turns, the memory held
// stays bounded, and a restart over a large backlog neither loads it all nor loses any of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import type { Job } from '../src/domain/job.js';

const WINDOW = 5;
const opened: Docket[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function open(path: string): Promise<Docket> {
  const docket = await openEmbedded({ path, dispatchWindow: WINDOW });
  opened.push(docket);
  return docket;
}

const held = (docket: Docket) => (docket.dispatch as MemoryDispatch).held;

/** Claims `max` at a time and completes each batch, until nothing is left; the start order. */
async function drain(docket: Docket, max: number): Promise<Job[]> {
  const started: Job[] = [];
  for (let round = 0; round < 10_000; round++) {
    const jobs = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max });
    if (jobs.length === 0) break;
    started.push(...jobs);
    const results = await Promise.all(jobs.map((j) => docket.jobs.outcomes.complete(j.id, j.leaseToken!)));
    expect(results.every((r) => r.ok)).toBe(true);
  }
  return started;
}

describe('embedded dispatch window', () => {
  it('runs a backlog many times the window once each, in order per tenant, with tenants taking turns', async () => {
    const docket = await open(':memory:');
    const submitted: Record<string, string[]> = {};
    for (const tenant of ['a', 'b', 'c']) {
      submitted[tenant] = [];
      for (let i = 0; i < 4; i++) {
        const jobs = await docket.jobs.submitter.submit(Array.from({ length: 25 }, (_, k) => ({ type: 'work', payload: { i, k } })), { tenant });
        submitted[tenant]!.push(...jobs.map((j) => j.id));
      }
    }
    // Three buckets (one per tenant): each holds at most twice the window.
    expect(held(docket)).toBeLessThanOrEqual(3 * 2 * WINDOW);

    const started = await drain(docket, 6);
    expect(started).toHaveLength(300);
    expect(new Set(started.map((j) => j.id)).size).toBe(300);
    // Tenant c submitted last, yet has its turn in the first claim.
    expect(new Set(started.slice(0, 6).map((j) => j.tenant))).toEqual(new Set(['a', 'b', 'c']));
    for (const tenant of ['a', 'b', 'c']) expect(started.filter((j) => j.tenant === tenant).map((j) => j.id)).toEqual(submitted[tenant]);
    expect(held(docket)).toBe(0);
  });

  it('a priority-1 job submitted behind a large backlog starts first', async () => {
    const docket = await open(':memory:');
    await docket.jobs.submitter.submit(Array.from({ length: 100 }, () => ({ type: 'work' })), { tenant: 't' });
    const [urgent] = await docket.jobs.submitter.submit([{ type: 'work', priority: 1 }], { tenant: 't' });
    const first = await docket.jobs.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
    expect(first.map((j) => j.id)).toEqual([urgent!.id]);
  });

  it('a job cancelled past the window is not started, and the rest are', async () => {
    const docket = await open(':memory:');
    const jobs = await docket.jobs.submitter.submit(Array.from({ length: 40 }, () => ({ type: 'work' })), { tenant: 't' });
    const cancelled = [jobs[20]!.id, jobs[39]!.id];
    for (const id of cancelled) await docket.jobs.cancels.cancel(id);
    const started = await drain(docket, 7);
    expect(started.map((j) => j.id)).toEqual(jobs.map((j) => j.id).filter((id) => !cancelled.includes(id)));
  });

  it('reopens over a large backlog holding only the window, and runs all of it once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-window-'));
    dirs.push(dir);
    const path = join(dir, 'docket.db');
    const first = await open(path);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(...(await first.jobs.submitter.submit(Array.from({ length: 200 }, () => ({ type: 'work' })), { tenant: 't' })).map((j) => j.id));
    await first.close();
    opened.splice(opened.indexOf(first), 1);

    const again = await open(path);
    expect(held(again)).toBeLessThanOrEqual(2 * WINDOW);
    const started = await drain(again, 50);
    expect(started.map((j) => j.id)).toEqual(ids);
  });
});
