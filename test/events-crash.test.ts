// Lifecycle events survive SIGKILL: a production cluster (PostgreSQL + Redis) publishing to the
// real Kafka broker, its leader (which runs the outbox relay) and its worker process killed under
// load. Afterwards every event the store logged is on Kafka, each job's events arrive in order, and
// a repeated event is the same event (same id, same content).
import { randomUUID } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { EventEnvelope } from '../src/ports/event-bus.js';
import { pause, until } from './helpers/process.js';
import { admin, api, cleanupClusters, mintToken, openCluster, sql, startServer, startWorker, untilAllFinished, type Cluster, type Server } from './helpers/cluster.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';

const TOPICS = ['job-events', 'worker-events', 'dependency-events'];
let prefix = '';

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
  if (!prefix) return;
  const kafka = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
  await kafka.deleteTopics({ topics: TOPICS.map((t) => prefix + t) }).catch(() => {});
  await kafka.close();
});

/** Every record of `topic` from the start, until `enough` says so. */
async function consume(topic: string, enough: (got: EventEnvelope[]) => boolean): Promise<EventEnvelope[]> {
  const bus = new KafkaEventBus({ brokers: TEST_KAFKA_BROKERS, clientId: 'docket-test', maxWaitMs: 200, sessionTimeoutMs: 10_000 });
  const got: EventEnvelope[] = [];
  try {
    await bus.subscribe([topic], `check-${randomUUID()}`, async (r) => void got.push(r.event), { start: 'earliest' });
    await until(`the events of ${topic}`, () => (enough(got) ? true : undefined), 60_000, 200);
    return got;
  } finally {
    await bus.close();
  }
}

describe('lifecycle events through a crash (transactional outbox)', () => {
  beforeAll(async () => {
    await ensureKafka();
    admin.token = await mintToken('admin');
  }, KAFKA_START_TIMEOUT_MS);

  it('loses no event when the leader and a worker are SIGKILLed between changes and publishing', async () => {
    const c: Cluster = await openCluster();
    prefix = `t${randomUUID().slice(0, 8)}.`;
    const kafka = { DOCKET_KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','), DOCKET_KAFKA_TOPIC_PREFIX: prefix };
    const first = await startServer(c, 'api-0', kafka);
    const worker = await startWorker(c, 'worker-0', { env: kafka });
    // Workers register in the worker directory: the `--role worker` processes' in-process workers, and
    // a remote worker registering over HTTP on each side of the crash.
    const remote = [(await api(first.url, 'POST', '/v1/workers', { queues: ['elsewhere'], name: 'remote-0' })).id as string];

    let target: Server = first;
    let stop = false;
    let killed = false;
    const submitted: string[] = [];
    const refused: string[] = [];
    const lane = (async () => {
      while (!stop) {
        const to = target;
        const reply = await api(to.url, 'POST', '/v1/jobs/bulk', { jobs: Array.from({ length: 20 }, (_, i) => ({ type: 'work', payload: { i } })) }).catch((err: unknown) => {
          // Only the killed server may fail a request, and only by not answering (refused or reset).
          if (!(killed && to === first && err instanceof TypeError)) refused.push(`${to.name}: ${String(err)}`);
          return null;
        });
        if (reply) submitted.push(...(reply.jobs as { id: string }[]).map((j) => j.id));
        await pause(40); // paces the load generator (about 500 jobs/s), not a wait
      }
    })();
    const succeeded = async () => Number((await sql<{ n: string }>(c, "SELECT count(*) AS n FROM jobs WHERE state = 'succeeded'"))[0]!.n);
    const UNPUBLISHED = "SELECT coalesce(sum(n), 0) AS n FROM events WHERE pos_end IS NULL OR pos_end > coalesce((SELECT pos FROM event_cursors WHERE name = 'bus'), 0)";

    // Under load (submissions flowing, the worker finishing jobs), and killed while the store holds
    // events the relay has not published yet.
    // The leader is frozen (SIGSTOP) before the store is read, so the events counted are still
    // unpublished when it is killed: a relay that caught up between the look and the kill made the
    // crash test nothing (seen once the hot path got faster). Nothing found: it runs on, and we look again.
    await until('jobs submitted and run, events not yet published', async () => {
      if (submitted.length < 200 || (await succeeded()) < 50) return undefined;
      first.child.kill('SIGSTOP');
      if (Number((await sql<{ n: string }>(c, UNPUBLISHED))[0]!.n) > 0) return true;
      first.child.kill('SIGCONT');
      return undefined;
    }, 30_000, 20);
    killed = true;
    first.child.kill('SIGKILL');
    worker.child.kill('SIGKILL');
    await Promise.all([first.exited, worker.exited]);
    // What the store logged that the relay had not published when it died.
    const [pending] = await sql<{ n: string }>(c, UNPUBLISHED);
    const second = await startServer(c, 'api-1', kafka);
    target = second;
    await startWorker(c, 'worker-1', { env: kafka });
    remote.push((await api(second.url, 'POST', '/v1/workers', { queues: ['elsewhere'], name: 'remote-1' })).id as string);
    // Load again after the restart: the new server takes submissions and the new worker runs jobs.
    const [submittedBefore, succeededBefore] = [submitted.length, await succeeded()];
    await until('jobs submitted and run after the restart', async () => (submitted.length >= submittedBefore + 200 && (await succeeded()) >= succeededBefore + 50 ? true : undefined), 30_000, 100);
    stop = true;
    await lane;
    expect(refused, 'submissions refused other than by the killed server').toEqual([]);
    await untilAllFinished(c, 60_000);

    // The relay has caught up: every logged event is positioned and published.
    await until('the relay to publish everything', async () => {
      const [row] = await sql<{ unpublished: string }>(c, "SELECT count(*) AS unpublished FROM events WHERE pos_end IS NULL OR pos_end > coalesce((SELECT pos FROM event_cursors WHERE name = 'bus'), 0)");
      return Number(row!.unpublished) === 0 ? true : undefined;
    }, 30_000, 100);
    const store = new PostgresStore({ connectionString: c.databaseUrl, max: 1 });
    const logged = await store.events.read(0, 1_000_000, { topics: ['job-events'] }).finally(() => store.close());
    const loggedIds = new Set(logged.map((e) => String(e.pos)));
    const received = await consume(prefix + 'job-events', (got) => new Set(got.map((e) => e.id)).size >= loggedIds.size);

    // Nothing lost: every logged event arrived, and nothing else did.
    const firstById = new Map<string, EventEnvelope>();
    let duplicates = 0;
    for (const e of received) {
      const seen = firstById.get(e.id);
      if (seen) {
        duplicates++;
        expect(e).toEqual(seen); // a repeat is the same event
      } else firstById.set(e.id, e);
    }
    expect(new Set(firstById.keys())).toEqual(loggedIds);

    // Per job, in order: positions increase in arrival order, from submitted to succeeded.
    const byJob = new Map<string, EventEnvelope[]>();
    for (const e of received) byJob.set(e.subject!, [...(byJob.get(e.subject!) ?? []), e]);
    const jobs = await sql<{ id: string; state: string }>(c, 'SELECT id, state FROM jobs');
    expect(jobs.filter((j) => j.state !== 'succeeded').map((j) => `${j.id} ${j.state}`)).toEqual([]);
    for (const job of jobs) {
      const distinct = (byJob.get(job.id) ?? []).filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i);
      const positions = distinct.map((e) => Number(e.id));
      expect(positions, `events of ${job.id}`).toEqual([...positions].sort((a, b) => a - b));
      expect(distinct[0]!.type).toBe('docket.job.submitted');
      expect(distinct.at(-1)!.type).toBe('docket.job.succeeded');
      expect(distinct.some((e) => e.type === 'docket.job.started')).toBe(true);
    }
    // Every acknowledged job is there (a batch whose reply the kill lost may add more).
    const jobIds = new Set(jobs.map((j) => j.id));
    expect(submitted.filter((id) => !jobIds.has(id)), 'acknowledged jobs missing').toEqual([]);

    // The workers' own events went to worker-events (a SIGKILLed process logs no `deregistered`): each
    // one the store logged arrived there, and they are worker events.
    const workerStore = new PostgresStore({ connectionString: c.databaseUrl, max: 1 });
    const loggedWorker = await workerStore.events.read(0, 1_000_000, { topics: ['worker-events'] }).finally(() => workerStore.close());
    expect(loggedWorker.length, 'worker events logged').toBeGreaterThan(0);
    const loggedWorkerIds = new Set(loggedWorker.map((e) => String(e.pos)));
    const workerEvents = await consume(prefix + 'worker-events', (got) => new Set(got.map((e) => e.id)).size >= loggedWorkerIds.size);
    expect(new Set(workerEvents.map((e) => e.id))).toEqual(loggedWorkerIds);
    expect(workerEvents.every((e) => e.type.startsWith('docket.worker.'))).toBe(true);
    const registered = workerEvents.filter((e) => e.type === 'docket.worker.registered').map((e) => e.subject);
    expect(registered).toEqual(expect.arrayContaining(remote));
    expect(registered, 'the two remote workers and the two worker processes registered').toHaveLength(remote.length + 2);

    console.log(
      `events: ${jobs.length} jobs, ${loggedIds.size} job events logged and all received; ${Number(pending!.n)} unpublished when the leader died; ${duplicates} republished after the crash`,
    );
    expect(Number(pending!.n)).toBeGreaterThan(0);
  }, 180_000);
});
