// A Redis connection that comes back and drops again before Redis answered a SUBSCRIBE: what a
// soak saw once in 30 minutes (a `--role worker` process died seconds after a Redis outage, its
// last line "Redis is back"), made certain with a TCP proxy in front of a private redis-server
// (test/helpers/tcp-proxy.ts) that swallows the resubscription after a reconnect and then refuses
// connections for 3 s, while the private PostgreSQL crashes. Before the fix, ioredis's automatic
// resubscription was a promise nobody handled: flushed after maxRetriesPerRequest, it rejected
// unhandled (MaxRetriesPerRequestError) and Node ended the worker, and the leader likewise (its
// subscription to `due`). Now every process stays up, logs no unhandled rejection, subscribes
// again, and jobs submitted afterwards are woken and run at once.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { admin, cleanupClusters, jobs, mintToken, startServer, startWorker, untilAllFinished, type Proc } from './helpers/cluster.js';
import { within } from './helpers/process.js';
import { call, openPrivateCluster } from './helpers/private-cluster.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './helpers/private-engines.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { UNHANDLED_REJECTION } from '../src/interfaces/cli/process-errors.js';

let pgServer: PrivatePostgres;
let redis: PrivateRedis;
let proxy: TcpProxy;
const removals: (() => void)[] = [];

beforeAll(async () => {
  [pgServer, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  proxy = await startTcpProxy(redis.port);
  admin.token = await mintToken('admin');
}, 60_000);

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
  for (const r of removals.splice(0)) r();
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([pgServer?.destroy(), redis?.destroy()]);
});

const alive = (p: Proc) => p.exit() === null;

/** A SUBSCRIBE (RESP) of a channel whose name ends with `suffix`. */
const subscribeTo = (suffix: string) => new RegExp(`subscribe\\r\\n\\$\\d+\\r\\n[^\\r]*${suffix}\\r\\n`, 'i');

async function submit(url: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await call(url, admin.token, 'POST', '/v1/jobs', { type: 'work', payload: { i } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }
}

it('a Redis connection lost again before the resubscription is answered, with PostgreSQL crashing: worker and leader stay up and subscribed, jobs run', async () => {
  const c = await openPrivateCluster(pgServer, redis, 'resubscribe');
  removals.push(c.remove);
  const env = { DOCKET_REDIS_URL: `redis://127.0.0.1:${proxy.port}` };
  const server = await startServer(c, 'api-0', env);
  const worker = await startWorker(c, 'worker-0', { env });
  await submit(server.url, 10);
  await untilAllFinished(c, 30_000);

  // The worker's subscription to its queue's wake-ups, then the leader's to `due`.
  for (const [who, suffix] of [['worker', 'wake:default'], ['leader', ':due']] as const) {
    const trap = proxy.trap(subscribeTo(suffix), 3000);
    await proxy.outage(300); // every connection drops; the subscribers come back and resubscribe
    await within(`the ${who}'s resubscription`, trap.fired, 20_000);
    await pgServer.crashRestart(); // while Redis is unreachable, as in the soak
    await trap.over;
    expect([server, worker].filter((p) => !alive(p)).map((p) => `${p.name} (after the ${who}'s resubscription was lost): ${p.stderr().slice(-3000)}`)).toEqual([]);
  }

  // Served and subscribed again: new jobs wake the waiting worker (its long poll is 30 s) and run.
  await submit(server.url, 10);
  await untilAllFinished(c, 20_000);
  expect((await jobs(c)).filter((j) => j.state !== 'succeeded')).toEqual([]);
  expect([server, worker].filter((p) => !alive(p)).map((p) => `${p.name}: ${p.stderr().slice(-3000)}`)).toEqual([]);
  expect([server, worker].flatMap((p) => p.logs().filter((l) => l.msg === UNHANDLED_REJECTION).map((l) => `${p.name}: ${JSON.stringify(l.err)}`))).toEqual([]);
}, 120_000);
