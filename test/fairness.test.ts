// Fairness between tenants, tenant caps, claim filters (insights) and routing, end to end through
// the job service on both deployments: embedded (SQLite + in-memory dispatch) and PostgreSQL + Redis.
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { EMPTY_FILE_CONFIG, parseConfigFile, type FileConfig } from '../src/config/index.js';
import type { Docket } from '../src/app/docket.js';
import { fairnessPolicy, type FairnessConfig } from '../src/domain/fairness.js';
import type { Job } from '../src/domain/job.js';
import type { RoutingRule } from '../src/domain/routing.js';
import { RunningSweep } from '../src/services/maintenance/running-sweep.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { pino } from 'pino';
import { deployments } from './helpers/deployments.js';

interface Rules {
  fairness?: FairnessConfig;
  routing?: RoutingRule[];
}

const silent = pino({ level: 'silent' });

function fileConfig(rules: Rules): FileConfig {
  return { ...EMPTY_FILE_CONFIG, ...(rules.fairness ? { fairness: rules.fairness } : {}), ...(rules.routing ? { routing: rules.routing } : {}) };
}

/** Submits `n` jobs for `tenant` in bulk requests of 1,000, as a client would. */
async function queue(docket: Docket, tenant: string, n: number, job: Record<string, unknown> = {}): Promise<Job[]> {
  const out: Job[] = [];
  for (let i = 0; i < n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i) }, () => ({ type: 'work', queue: 'shared', ...job }));
    out.push(...(await docket.jobs.submitter.submit(batch, { tenant })));
  }
  return out;
}

/** Claims `max` at a time and completes what it got, until `until` says stop; returns the start order. */
async function run(docket: Docket, max: number, until: (started: Job[]) => boolean, filter?: { types?: string[] }): Promise<Job[]> {
  const started: Job[] = [];
  while (!until(started)) {
    const jobs = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max, ...(filter ? { filter } : {}) });
    if (jobs.length === 0) break;
    started.push(...jobs);
    await Promise.all(jobs.map((j) => docket.jobs.outcomes.complete(j.id, j.leaseToken!)));
  }
  return started;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

for (const { name, open } of deployments((c) => cleanups.push(c))) {
  describe(`fairness: ${name}`, () => {
    const start = async (rules: Rules = {}) => {
      const docket = await open({ rules: fileConfig(rules) });
      cleanups.push(() => docket.stop());
      return docket;
    };

    it('tenant B queues 10 after tenant A queued 100,000: B starts all 10 before A starts 2 x batch more', { timeout: 120_000 }, async () => {
      const docket = await start();
      await queue(docket, 'A', 100_000);
      const small = await queue(docket, 'B', 10);
      const batch = 10;
      const started = await run(docket, batch, (s) => s.filter((j) => j.tenant === 'B').length === small.length);
      const lastB = started.findLastIndex((j) => j.tenant === 'B');
      const aBefore = started.slice(0, lastB).filter((j) => j.tenant === 'A').length;
      expect(started.filter((j) => j.tenant === 'B').map((j) => j.id)).toEqual(small.map((j) => j.id));
      expect(aBefore).toBeLessThanOrEqual(2 * batch);
    });

    it('weights 3:1 under saturation give start shares of 3:1 within 5%', { timeout: 60_000 }, async () => {
      const docket = await start({ fairness: { shared: { tenants: { A: { weight: 3 } } } } });
      await queue(docket, 'A', 2000);
      await queue(docket, 'B', 2000);
      const started = await run(docket, 10, (s) => s.length >= 800);
      const a = started.filter((j) => j.tenant === 'A').length;
      const ratio = a / (started.length - a);
      expect(ratio).toBeGreaterThan(3 * 0.95);
      expect(ratio).toBeLessThan(3 * 1.05);
    });

    it('a tenant cap holds its running jobs to the cap while others use the free capacity; finishing frees slots', { timeout: 60_000 }, async () => {
      const docket = await start({ fairness: { shared: { tenants: { A: { maxRunning: 3 } } } } });
      await queue(docket, 'A', 20);
      await queue(docket, 'B', 20);
      const first = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 10 });
      expect(first.filter((j) => j.tenant === 'A')).toHaveLength(3);
      expect(first.filter((j) => j.tenant === 'B')).toHaveLength(7);
      const more = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 10 });
      expect(more.filter((j) => j.tenant === 'A')).toHaveLength(0);
      // Each way out of running frees a slot: completion, failure (retry), cancel.
      const [a1, a2, a3] = first.filter((j) => j.tenant === 'A');
      await docket.jobs.outcomes.complete(a1!.id, a1!.leaseToken!);
      await docket.jobs.outcomes.fail(a2!.id, a2!.leaseToken!, { message: 'boom' });
      await docket.jobs.cancels.cancel(a3!.id);
      const after = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 10 });
      expect(after.filter((j) => j.tenant === 'A')).toHaveLength(3);
      const running = await docket.store.listJobs({ state: 'running', tenant: 'A' }, 100);
      expect(running.jobs).toHaveLength(3);
    });

    it('the running sweep corrects a count that drifted from the store, only once it is stable', async () => {
      const fairness = { shared: { default: { maxRunning: 5 } } };
      const docket = await start({ fairness });
      await queue(docket, 'A', 10);
      const claimed = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 10 });
      expect(claimed).toHaveLength(5);
      await docket.dispatch.adjustRunning('shared', 'A', 3); // a leak: a process died after its take
      const sweep = new RunningSweep(docket.store, docket.dispatch, fairnessPolicy(fairness), new SystemClock(), 60_000, (err) => {
        throw err; // never started: runOnce() is called directly, and throws itself
      });
      expect(await sweep.runOnce()).toBe(0); // seen once: maybe a claim in flight
      expect(await sweep.runOnce()).toBe(1);
      expect(await docket.dispatch.runningCounts(['shared'])).toEqual([{ queue: 'shared', tenant: 'A', running: 5 }]);
    });

    it('a filtered claim (insights) gets only matching jobs, in fairness order; an SDK worker with a filter runs only those', { timeout: 60_000 }, async () => {
      const docket = await start();
      const media = [...(await queue(docket, 'A', 5, { type: 'mediaInfo' })), ...(await queue(docket, 'B', 5, { type: 'mediaInfo' }))];
      await queue(docket, 'A', 50, { type: 'thumbnail' });
      const gpu = await queue(docket, 'B', 3, { type: 'thumbnail', labels: { gpu: 'yes' } });
      const got = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 4, filter: { types: ['mediaInfo'] } });
      expect(got.map((j) => j.tenant)).toEqual(['A', 'B', 'A', 'B']);
      const ran: string[] = [];
      const worker = new Worker({
        transport: new LocalTransport(docket.jobs),
        queues: ['shared'],
        filter: { labels: { gpu: 'yes' } },
        handlers: { thumbnail: (job) => void ran.push(job.id) },
        pollWaitMs: 200,
      });
      await worker.start();
      await expect.poll(() => ran.length, { timeout: 10_000 }).toBe(3);
      await worker.close();
      expect(ran.sort()).toEqual(gpu.map((j) => j.id).sort());
      const rest = await docket.jobs.claims.claim({ workerId: 'w', queues: ['shared'], max: 100, filter: { types: ['mediaInfo'] } });
      expect([...got, ...rest].map((j) => j.id).sort()).toEqual(media.map((j) => j.id).sort());
    });

    it('routing rules send a job that names no queue to its type’s queue; an explicit queue wins', async () => {
      const docket = await start({ routing: [{ types: ['media.*', 'transcode'], queue: 'media' }] });
      const [routed, exact, explicit, other] = await docket.jobs.submitter.submit(
        [{ type: 'media.probe' }, { type: 'transcode' }, { type: 'transcode', queue: 'urgent' }, { type: 'email' }],
        { tenant: 'A' },
      );
      expect([routed!.queue, exact!.queue, explicit!.queue, other!.queue]).toEqual(['media', 'media', 'urgent', 'default']);
      expect(await docket.jobs.claims.claim({ workerId: 'w', queues: ['media'], max: 10 })).toHaveLength(2);
    });

    it('priority pools keep their shares of starts under the fairness scheduler, and tenants their weights inside each', { timeout: 90_000 }, async () => {
      const docket = await start({ fairness: { shared: { tenants: { A: { weight: 3 } } } } });
      for (const tenant of ['A', 'B']) {
        await docket.jobs.submitter.submit(Array.from({ length: 1500 }, (_, i) => ({ type: 'work', queue: 'shared', priority: [2, 5, 9][i % 3]! })), { tenant });
      }
      const starts: Job[] = [];
      const worker = new Worker({
        transport: new LocalTransport(docket.jobs),
        queues: ['shared'],
        concurrency: { '1-3': 8, '4-7': 4, '8-10': 2 },
        handlers: { work: () => new Promise((r) => setTimeout(r, 5)) },
        logger: silent,
      });
      worker.on('started', (job: Job) => starts.push(job));
      await worker.start();
      await expect.poll(() => starts.length, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(700);
      await worker.close();
      const first = starts.slice(0, 700);
      const rangeOf = (j: Job) => (j.priority <= 3 ? '1-3' : j.priority <= 7 ? '4-7' : '8-10');
      const share = (range: string) => first.filter((j) => rangeOf(j) === range).length / first.length;
      // 8:4:2 slots with equal run times: 4/7, 2/7 and 1/7 of the starts while every range has work.
      expect(share('1-3')).toBeGreaterThan(0.5);
      expect(share('1-3')).toBeLessThan(0.65);
      expect(share('4-7')).toBeGreaterThan(0.22);
      expect(share('4-7')).toBeLessThan(0.35);
      expect(share('8-10')).toBeGreaterThan(0.1);
      expect(share('8-10')).toBeLessThan(0.19);
      // Inside the busiest range, tenants share 3:1.
      const top = first.filter((j) => rangeOf(j) === '1-3');
      const a = top.filter((j) => j.tenant === 'A').length;
      expect(a / (top.length - a)).toBeGreaterThan(2.5);
      expect(a / (top.length - a)).toBeLessThan(3.5);
    });

    it('a bad fairness or routing entry in the config file is refused at start, naming it', () => {
      expect(() => parseConfigFile({ fairness: { shared: { tenants: { A: { weight: 0 } } } } }, 'docket.json')).toThrow(/docket.json: \/fairness\/shared\/tenants\/A\/weight/);
      expect(() => parseConfigFile({ routing: [{ types: [], queue: 'media' }] }, 'docket.json')).toThrow(/\/routing\/0\/types/);
    });
  });
}
