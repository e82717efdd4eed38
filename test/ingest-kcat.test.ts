// Issue 6's check with a client no one here wrote: Debian's kcat (librdkafka) produces an input
// event to a real `docket server` process (embedded, with ingest rules and DOCKET_KAFKA_BROKERS);
// the configured jobs appear and run on the server's in-process worker (examples/handlers.js);
// then kcat reads `<prefix>job-events` and finds each job's lifecycle, in order.
// Runs dist/: `npx tsc -p tsconfig.build.json` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, freePort, until } from './helpers/process.js';
import { ensureKafka, KAFKA_START_TIMEOUT_MS, TEST_KAFKA_BROKERS } from './setup/kafka.js';
import { HAS_KCAT, kcat, kcatConsumeAll } from './helpers/kcat.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ARRIVE_MS = 60_000;


interface JobView {
  id: string;
  type: string;
  queue: string;
  state: string;
  payload: unknown;
  linkId: string;
  result?: unknown;
}



describe('an event produced with kcat becomes jobs; their lifecycle is on job-events', () => {
  const tag = randomUUID().slice(0, 8);
  const prefix = `docket-test.kcat-ingest.${tag}.`;
  const input = `docket-test.kcat-orders.${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'docket-kcat-ingest-'));
  let server: ChildProcess | undefined;
  let output = '';
  let url = '';
  let token = '';

  beforeAll(async () => {
    if (!HAS_KCAT) throw new Error('kcat is not installed: apt-get install -y kcat');
    await ensureKafka();
    // The input topic belongs to the producer: it exists before Docket subscribes.
    const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      await admin.createTopics({ topics: [input], partitions: 3, replicas: 1 });
    } finally {
      await admin.close();
    }

    const config = join(dir, 'docket.json');
    writeFileSync(
      config,
      JSON.stringify({
        ingest: {
          topics: [input],
          groupId: `docket-test.kcat-ingest.${tag}`,
          rules: [
            {
              name: 'order-paid',
              match: { type: 'com.acme.order.paid', source: { regex: '^urn:acme:' } },
              jobs: [
                { type: 'echo', priority: 2, expiresInSeconds: 600, payload: { orderId: 'data.order.id', total: 'data.order.total' }, dedup: ['data.order.id'] },
                { type: 'noop', payload: {} },
              ],
            },
          ],
        },
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['bin/docket', 'server'], {
      cwd: ROOT,
      env: cleanEnv({
        DOCKET_DATA_DIR: join(dir, 'data'),
        PORT: String(port),
        DOCKET_CONFIG: config,
        DOCKET_KAFKA_BROKERS: TEST_KAFKA_BROKERS.join(','),
        DOCKET_KAFKA_TOPIC_PREFIX: prefix,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (output += d));
    server.stderr!.on('data', (d) => (output += d));
    await until(
      'GET /healthz',
      async () => {
        if (server!.exitCode !== null) throw new Error(`docket server exited with ${server!.exitCode}:\n${output}`);
        const res = await fetch(`${url}/healthz`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      ARRIVE_MS,
    );
    // First start of its data dir: the server prints an admin token (just after it listens).
    token = await until('the printed admin token', () => /export DOCKET_TOKEN=(\S+)/.exec(output)?.[1], ARRIVE_MS);
  }, KAFKA_START_TIMEOUT_MS);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    const admin = new Admin({ clientId: 'docket-test', bootstrapBrokers: TEST_KAFKA_BROKERS });
    try {
      const mine = (await admin.listTopics()).filter((t) => t === input || t.startsWith(prefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    } finally {
      await admin.close();
    }
  }, 60_000);

  const jobsOf = async (linkId: string): Promise<JobView[]> => {
    const res = await fetch(`${url}/v1/jobs?linkId=${encodeURIComponent(linkId)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { jobs: JobView[] }).jobs;
  };

  it(
    'kcat produces an event; the rule\'s two jobs are created and run; job-events has submitted, started, succeeded per job, in order',
    async () => {
      const event = {
        specversion: '1.0',
        id: randomUUID(),
        type: 'com.acme.order.paid',
        source: 'urn:acme:shop',
        time: new Date().toISOString(),
        tenant: 'default',
        linkId: null,
        data: { order: { id: 'o-77', total: 42.5 } },
      };
      await kcat(['-P', '-t', input, '-k', 'o-77', '-X', 'partitioner=murmur2_random', '-H', 'content-type=application/cloudevents+json; charset=UTF-8'], `${JSON.stringify(event)}\n`);

      // The jobs appear, as configured, and the in-process worker (examples/handlers.js) runs them.
      const done = await until(
        'both jobs succeeded',
        async () => {
          const jobs = await jobsOf(event.id);
          return jobs.length === 2 && jobs.every((j) => j.state === 'succeeded') ? jobs : undefined;
        },
        ARRIVE_MS,
        200,
      );
      const echo = done.find((j) => j.type === 'echo')!;
      expect(echo).toMatchObject({ queue: 'default', payload: { orderId: 'o-77', total: 42.5 }, result: { orderId: 'o-77', total: 42.5 } });
      expect(done.map((j) => j.type).sort()).toEqual(['echo', 'noop']);

      // The lifecycle, as kcat reads it from the topic the server publishes to.
      const lifecycle = await until(
        'the jobs\' lifecycle on job-events',
        async () => {
          const records = await kcatConsumeAll(`${prefix}job-events`).catch(() => []);
          const byJob = new Map(done.map((j) => [j.id, records.filter((r) => r.key === j.id).map((r) => JSON.parse(r.payload!) as { type: string; subject: string; linkId: string; tenant: string })]));
          return [...byJob.values()].every((events) => events.some((e) => e.type === 'docket.job.succeeded')) ? byJob : undefined;
        },
        ARRIVE_MS,
        500,
      );
      for (const job of done) {
        const events = lifecycle.get(job.id)!;
        const types = events.map((e) => e.type);
        const at = (t: string) => types.indexOf(`docket.job.${t}`);
        expect(at('submitted'), `${job.type}: ${types.join(', ')}`).toBeGreaterThanOrEqual(0);
        expect(at('started')).toBeGreaterThan(at('submitted'));
        expect(at('succeeded')).toBeGreaterThan(at('started'));
        for (const e of events) expect(e).toMatchObject({ subject: job.id, linkId: event.id, tenant: 'default' });
      }

      // kcat produces the same event again, then a marker event on the same key (same partition, so
      // it is handled after the duplicate): once the marker's jobs exist, the duplicate made none.
      const marker = { ...event, id: randomUUID(), data: { order: { id: 'o-78', total: 1 } } };
      await kcat(['-P', '-t', input, '-k', 'o-77', '-X', 'partitioner=murmur2_random'], `${JSON.stringify(event)}\n${JSON.stringify(marker)}\n`);
      await until('the marker\'s jobs', async () => ((await jobsOf(marker.id)).length === 2 ? true : undefined), ARRIVE_MS, 200);
      expect(await jobsOf(event.id)).toHaveLength(2);
    },
    180_000,
  );
});
