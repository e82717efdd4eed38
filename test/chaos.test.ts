// The chaos suite: one round of every engine and process fault (test/helpers/chaos.ts) against a
// Docket cluster on engines this file owns — a private PostgreSQL cluster and a private redis-server
// and a private Kafka broker (scripts/kafka.mjs on other ports and dirs) — two api+scheduler processes and two workers under continuous submits, with an every-second cron
// schedule throughout. `npm run soak -- --minutes N` runs the same faults on a loop.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { runChaos } from './helpers/chaos.js';
import { admin, cleanupClusters, mintToken } from './helpers/cluster.js';
import { startPrivateKafka, startPrivatePostgres, startPrivateRedis, type PrivateKafka, type PrivatePostgres, type PrivateRedis } from './helpers/private-engines.js';

let pg: PrivatePostgres;
let redis: PrivateRedis;
let kafka: PrivateKafka;

beforeAll(async () => {
  [pg, redis, kafka] = await Promise.all([startPrivatePostgres(), startPrivateRedis(), startPrivateKafka()]);
  admin.token = await mintToken('admin');
}, 240_000);

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), redis?.destroy(), kafka?.destroy()]);
});

it('survives PostgreSQL crashes, a Redis outage and flush, a Kafka outage, SIGKILLed leader and worker, a SIGSTOPped worker: no job lost, duplicates explained, events complete in Kafka, one job per cron tick, no process died', async () => {
  const report = await runChaos({ pg, redis, kafka, name: 'chaos', rounds: 1 });
  console.log(JSON.stringify({ ...report, duplicates: report.duplicates.length }, null, 1));
  expect(report.rounds).toBe(1);
  expect(report.acknowledged).toBeGreaterThan(0);
  expect(report.died).toEqual([]);
  expect(report.unhandled).toEqual([]);
  expect(report.notSucceeded).toEqual([]);
  expect(report.unexplained).toEqual([]);
  expect(report.badServerErrors).toEqual([]);
  expect(report.cron.ticks).toBeGreaterThan(10);
  expect(report.cron.duplicateTicks).toEqual([]);
  expect(report.cron.missingTicks).toEqual([]);
  expect(report.events.broken).toEqual([]);
  expect(report.events.checked).toBeGreaterThanOrEqual(report.acknowledged * 3);
  expect(report.faults['kafka-stop']).toBe(1);
  expect(report.kafka?.broken).toEqual([]);
  expect(report.kafka?.checked).toBeGreaterThanOrEqual(report.acknowledged * 3);
}, 300_000);
