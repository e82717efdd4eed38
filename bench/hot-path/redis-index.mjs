#!/usr/bin/env node
// Bytes per queued job that the Redis dispatch index holds: today's layout (Docket's own
// RedisDispatch.enqueue from a build, DOCKET_DIST), against leaner layouts a redesign could use.
// Measured as the growth of used_memory on a Redis that nothing else uses (a private one), so the
// figure is exact rather than MEMORY USAGE's sample. Keys are deleted afterwards.
//
//   node bench/hot-path/redis-index.mjs [--jobs 200000] [--redis-url redis://127.0.0.1:6379]
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import Redis from 'ioredis';
import { newId } from './lib.mjs';

const { values: opt } = parseArgs({ options: { jobs: { type: 'string', default: '200000' }, 'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' } } });
const N = Number(opt.jobs);
const DIST = process.env.DOCKET_DIST ?? '/work/main/dist';
const { RedisDispatch } = await import(pathToFileURL(`${DIST}/adapters/redis/redis-dispatch.js`).href);
const redis = new Redis(opt['redis-url']);
const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);

async function drop(prefix) {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (found.length > 0) await redis.del(...found);
    cursor = next;
  } while (cursor !== '0');
}

async function measure(label, prefix, fill) {
  const before = await used();
  await fill(prefix);
  const after = await used();
  await drop(prefix);
  const perJob = (after - before) / N;
  console.log(`${label}: ${perJob.toFixed(0)} B per queued job (${((after - before) / 2 ** 20).toFixed(1)} MiB for ${N})`);
  return { label, perJob };
}

const ids = Array.from({ length: N }, () => newId());
const now = Date.now();
const results = [];

results.push(await measure("today: RedisDispatch.enqueue (entries hash + ready zset per queue/level/tenant/type)", 'hot-path-index:today:', async (prefix) => {
  const clock = { now: () => Date.now(), setTimer: (fn, ms) => { const t = setTimeout(fn, ms); t.unref(); return { cancel: () => clearTimeout(t) }; } };
  const dispatch = new RedisDispatch({ clock, redis, prefix });
  for (let i = 0; i < N; i += 1000) {
    await dispatch.enqueue(ids.slice(i, i + 1000).map((id) => ({ id, queue: 'default', tenant: 'bench', priority: 5, dueAt: now, type: 'noop' })));
  }
}));

results.push(await measure('lean: one zset per queue/level/tenant, id text (36 B) as member, no entries hash', 'hot-path-index:lean:', async (prefix) => {
  for (let i = 0; i < N; i += 1000) {
    const args = [];
    for (const id of ids.slice(i, i + 1000)) args.push(now, id);
    await redis.zadd(`${prefix}ready:default:5:bench`, ...args);
  }
}));

results.push(await measure('lean: the same with 16-byte binary ids', 'hot-path-index:bin:', async (prefix) => {
  for (let i = 0; i < N; i += 1000) {
    const args = [];
    for (const id of ids.slice(i, i + 1000)) args.push(now, Buffer.from(id.replace(/-/g, ''), 'hex'));
    await redis.zadd(`${prefix}ready:default:5:bench`, ...args);
  }
}));

results.push(await measure('list: ids of one queue/level/tenant in a Redis list (FIFO; no per-id lookup)', 'hot-path-index:list:', async (prefix) => {
  for (let i = 0; i < N; i += 1000) await redis.rpush(`${prefix}ready:default:5:bench`, ...ids.slice(i, i + 1000));
}));

redis.disconnect();
console.log(JSON.stringify(results));
