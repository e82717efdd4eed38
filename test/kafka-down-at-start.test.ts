// Kafka configured but its broker down when `docket server` starts (a private broker the test stops
// and starts, test/helpers/private-engines.ts): the server starts anyway, /readyz answers 503 naming
// `kafka` while its topics cannot be set up, submits are accepted (their events wait in the outbox),
// and once the broker is up the topics are set up, /readyz is ready and the events reach Kafka.
// Before, the process exited at start ("Kafka at ...: ...").
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { admin, cleanupClusters, mintToken, openCluster, startServer } from './helpers/cluster.js';
import { until } from './helpers/process.js';
import { call } from './helpers/private-cluster.js';
import { startPrivateKafka, type PrivateKafka } from './helpers/private-engines.js';

let kafka: PrivateKafka;

beforeAll(async () => {
  kafka = await startPrivateKafka();
  await kafka.stop();
  admin.token = await mintToken('admin');
}, 240_000);

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
});

afterAll(async () => {
  await kafka?.destroy();
});

it('starts with the broker down, says so in /readyz, and publishes once the broker is up', async () => {
  const c = await openCluster();
  const server = await startServer(c, 'api-0', { DOCKET_KAFKA_BROKERS: kafka.brokers, DOCKET_KAFKA_TOPIC_PREFIX: 'down-at-start.' });

  const notReady = await call(server.url, admin.token, 'GET', '/readyz');
  expect(notReady.status).toBe(503);
  expect(notReady.body.checks.kafka).toMatch(/^unavailable: Kafka topics not set up yet/);
  expect(notReady.body.checks.store).toBe('ok');
  const submitted = await call(server.url, admin.token, 'POST', '/v1/jobs', { type: 'work' });
  expect(submitted.status).toBe(201);

  await kafka.start();
  await until('/readyz to say ready', async () => ((await call(server.url, admin.token, 'GET', '/readyz')).status === 200 ? true : undefined), 60_000, 500);
  const events = await until("the job's submitted event on Kafka", async () => {
    const records = await kafka.consume('down-at-start.job-events').catch(() => []);
    const mine = records.filter((r) => r.key === submitted.body.id);
    return mine.length > 0 ? mine : undefined;
  }, 60_000, 1000);
  expect(JSON.parse(events[0]!.payload!).type).toMatch(/submitted/);
  expect(server.exit()).toBeNull();
}, 240_000);
