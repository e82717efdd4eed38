// Engine outages on engines this file owns (a private PostgreSQL cluster and a private
// redis-server, test/helpers/private-engines.ts): two api+scheduler processes and a worker process
// under continuous submits while the engine crashes or stops. No process may exit; while the engine
// is down /readyz answers 503 naming it and requests that need it answer 503 problem+json with
// Retry-After (never 500), each logged at error level with its cause; leadership is given up and
// taken again; when the engine is back everything resumes by itself and every acknowledged job
// succeeds.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { admin, cleanupClusters, jobs, leads, mintToken, startServer, startWorker, untilAllFinished, type Proc, type Server } from './helpers/cluster.js';
import { until } from './helpers/process.js';
import { call, openPrivateCluster, type Reply } from './helpers/private-cluster.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './helpers/private-engines.js';

let pgServer: PrivatePostgres;
let redis: PrivateRedis;
const removals: (() => void)[] = [];

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  admin.token = await mintToken('admin');
}, 60_000);

afterEach(async (ctx) => {
  // A failed test may leave an engine down: the next test needs it up.
  await Promise.all([pgServer.start(), redis.start()]);
  await cleanupClusters(ctx.task.result?.state === 'fail');
  for (const r of removals.splice(0)) r();
});

afterAll(async () => {
  await Promise.all([pgServer?.destroy(), redis?.destroy()]);
});

/** Submits one job at a time round robin until stopped; keeps every reply's status. */
function submitter(servers: Server[]) {
  const acked = new Set<string>();
  const statuses: Reply[] = [];
  let stop = false;
  let rr = 0;
  const loop = async () => {
    // Bounded: stopped by the test, and never more than 5,000 submits.
    for (let n = 0; !stop && n < 5000; n++) {
      const s = servers[rr++ % servers.length]!;
      // Every other submit carries an Idempotency-Key: those are written in a transaction, so a
      // crash finds connections lent out mid-transaction as well as idle ones.
      const key: Record<string, string> = n % 2 === 0 ? { 'idempotency-key': randomUUID() } : {};
      const reply = await call(s.url, admin.token, 'POST', '/v1/jobs', { type: 'work', payload: { n } }, 5000, key);
      statuses.push(reply);
      if (reply.status === 201 || reply.status === 200) acked.add(reply.body.id);
      await new Promise((r) => setTimeout(r, reply.status >= 500 || reply.status === 0 ? 100 : 20));
    }
  };
  const running = Promise.all([loop(), loop()]);
  return {
    acked,
    statuses,
    /** Resolves once `n` more submits were acknowledged. */
    acknowledgedMore: (n: number, ms = 30_000) => {
      const target = acked.size + n;
      return until(`${n} more acknowledged submits`, () => (acked.size >= target ? true : undefined), ms);
    },
    stop: async () => {
      stop = true;
      await running;
    },
  };
}

function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

function errorLogs(p: Proc): Record<string, unknown>[] {
  return p.logs().filter((l) => l.level === 50);
}

describe('engine outages (private PostgreSQL and Redis, real processes)', () => {
  it('PostgreSQL crashing under load: no process exits, 503 with Retry-After while down, leadership retaken, every job succeeds', async () => {
    const c = await openPrivateCluster(pgServer, redis, 'outage_pg');
    removals.push(c.remove);
    const servers = await Promise.all([0, 1].map((i) => startServer(c, `api-${i}`)));
    const worker = await startWorker(c, 'worker-0');
    const procs: Proc[] = [...servers, worker];
    const load = submitter(servers);
    await load.acknowledgedMore(50);

    // Crashes: every backend killed, shared memory reset, as after a PostgreSQL segfault.
    for (let i = 0; i < 5; i++) {
      await pgServer.crashRestart();
      await load.acknowledgedMore(30);
      expect(procs.filter((p) => !alive(p)).map((p) => `${p.name}:\n${p.output().slice(-3000)}`)).toEqual([]);
    }

    // Down for a while: readiness names the engine, requests that need it are 503 + Retry-After.
    await pgServer.stop();
    const s = servers[0]!;
    const ready = await until('/readyz to answer 503', async () => {
      const r = await call(s.url, admin.token, 'GET', '/readyz');
      return r.status === 503 ? r : undefined;
    });
    expect(ready.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(ready.body.checks.store).toMatch(/^unavailable/);
    expect(ready.body.checks.redis).toBe('ok');
    expect(ready.body.detail).toMatch(/store/);
    const refused = await call(s.url, admin.token, 'POST', '/v1/jobs', { type: 'work' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.headers.get('retry-after')).toBe('5'); // docs/reliability.md: Retry-After: 5
    expect(refused.body.detail).toMatch(/PostgreSQL/);
    const read = await call(s.url, admin.token, 'GET', `/v1/jobs/${[...load.acked][0]}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('5');
    // Leadership needs the database session: nobody leads while it is down.
    await until('no leader while PostgreSQL is down', async () => ((await Promise.all(servers.map(leads))).every((l) => l === false) ? true : undefined), 20_000);
    await pgServer.start();

    await load.acknowledgedMore(50);
    await until('one leader again', async () => ((await Promise.all(servers.map(leads))).filter((l) => l === true).length === 1 ? true : undefined), 20_000);
    await load.stop();
    await untilAllFinished(c, 60_000);

    expect(procs.filter((p) => !alive(p)).map((p) => p.name)).toEqual([]);
    const rows = await jobs(c);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const notSucceeded = [...load.acked].filter((id) => byId.get(id)?.state !== 'succeeded');
    expect(notSucceeded).toEqual([]);
    // A refused submit is a 503, never a 500 (or a dropped connection from a dead process).
    const statuses = new Map<number, number>();
    for (const r of load.statuses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect(load.statuses.filter((r) => r.status !== 201 && r.status !== 503).map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
    expect(load.statuses.filter((x) => x.status === 503).map((r) => r.headers.get('retry-after')).filter((v) => v !== '5')).toEqual([]);
    // Every 5xx answered is logged at error level with its cause.
    const failedRequests = servers.flatMap(errorLogs).filter((l) => l.msg === 'request failed');
    expect(failedRequests.length).toBeGreaterThanOrEqual((statuses.get(503) ?? 0) + 1);
    expect(failedRequests.every((l) => typeof (l.err as { message?: string } | undefined)?.message === 'string')).toBe(true);
    // Each outage is logged once per process (the first error, then "PostgreSQL is back"), not
    // once per retry of every loop: 6 outages here (5 crashes, 1 stop), a second line allowed for
    // an error that raced the probe.
    for (const p of procs) {
      const outageLines = errorLogs(p).filter((l) => l.msg === 'maintenance failed');
      expect(outageLines.length, `${p.name}: ${JSON.stringify(outageLines.map((l) => (l.err as { message?: string }).message))}`).toBeLessThanOrEqual(12);
      expect(p.logs().some((l) => /^PostgreSQL is back/.test(String(l.msg))), p.name).toBe(true);
    }
  }, 180_000);

  it('Redis stopped for seconds under load: no process exits, 503 with Retry-After while down, every job succeeds', async () => {
    const c = await openPrivateCluster(pgServer, redis, 'outage_redis');
    removals.push(c.remove);
    const servers = await Promise.all([0, 1].map((i) => startServer(c, `api-${i}`)));
    const worker = await startWorker(c, 'worker-0');
    const procs: Proc[] = [...servers, worker];
    const load = submitter(servers);
    await load.acknowledgedMore(50);

    await redis.stop();
    const s = servers[1]!;
    const ready = await until('/readyz to answer 503', async () => {
      const r = await call(s.url, admin.token, 'GET', '/readyz');
      return r.status === 503 ? r : undefined;
    });
    expect(ready.body.checks.redis).toMatch(/^unavailable/);
    expect(ready.body.checks.store).toBe('ok');
    const refused = await until('a submit to be refused', async () => {
      const r = await call(s.url, admin.token, 'POST', '/v1/jobs', { type: 'work' });
      return r.status >= 500 ? r : undefined;
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5'); // docs/reliability.md: Retry-After: 5
    expect(refused.body.detail).toMatch(/Redis/);
    await redis.start();

    await load.acknowledgedMore(50);
    await load.stop();
    await untilAllFinished(c, 60_000);
    expect(procs.filter((p) => !alive(p)).map((p) => p.name)).toEqual([]);
    const byId = new Map((await jobs(c)).map((r) => [r.id, r]));
    expect([...load.acked].filter((id) => byId.get(id)?.state !== 'succeeded')).toEqual([]);
    expect(load.statuses.filter((r) => r.status !== 201 && r.status !== 503).map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
    // The in-process worker's failed claims and heartbeats go to the outage log like the engine's
    // own loops: the first one, then "Redis is back", not a line per retry (it logged ~10 a second
    // of outage before), a second line allowed for an error that raced the probe.
    const workerErrors = errorLogs(worker).map((l) => `${String(l.msg)}: ${(l.err as { message?: string } | undefined)?.message}`);
    expect(workerErrors.length, workerErrors.join('\n')).toBeLessThanOrEqual(2);
    expect(worker.logs().some((l) => /^Redis is back/.test(String(l.msg)))).toBe(true);
  }, 180_000);
});
