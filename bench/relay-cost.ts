/**
 * What publishing one lifecycle event costs, apart from everything else (docs/benchmarks.md,
 * "What bounds publishing"): a PostgreSQL log holding the events of N jobs submitted, claimed and
 * completed through the store's hot path; then the CPU this process spends in
 * `EventRelay.runOnce()` publishing the whole log to Kafka, after a first pass that positions it
 * and warms the code up. The broker's CPU is read from /proc when it runs on this machine.
 *
 *   npm run build:bench && node bench/dist/bench/relay-cost.js --jobs 50000 --runs 3 --kafka-brokers 127.0.0.1:9092
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { KafkaEventBus } from '../src/adapters/kafka/kafka-event-bus.js';
import { SystemClock } from '../src/adapters/clock/system-clock.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { NewJob } from '../src/ports/store.js';
import { BUS_CURSOR, EventRelay } from '../src/services/events/relay.js';
import { median } from './common.js';
import { cpuSeconds, pidsWhere } from './cpu.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '2000' },
    'database-url': { type: 'string', default: process.env.DOCKET_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'kafka-brokers': { type: 'string', default: process.env.DOCKET_BENCH_KAFKA_BROKERS ?? '127.0.0.1:9092' },
  },
});
const jobs = Number(args.jobs);
const runs = Number(args.runs);
if (!Number.isInteger(jobs) || jobs < 1000) throw new Error(`--jobs ${args.jobs}: a whole number >= 1000`);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${args.runs}: a whole number >= 1`);
const batchSize = Number(args.batch);
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch ${args.batch}: a whole number >= 1 (events per relay step)`);

/** The local Kafka broker's pid, or undefined when none runs on this machine. */
const broker = pidsWhere('cmdline', (cmd) => cmd.includes('kafka.Kafka'))[0];

/** Fills a fresh schema's log with the events of `n` jobs run through the store's own hot path. */
async function fill(store: PostgresStore, n: number): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < n; i += 1000) {
    const batch: NewJob[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const id = `0193a1b2-c3d4-7e5f-8a9b-${String(j).padStart(12, '0')}`;
      batch.push({
        id, tenant: 'default', queue: 'default', type: 'noop', payloadJson: '{}', priority: 5, labels: {}, state: 'ready', runAt: now,
        expiresAt: null, timeoutMs: null, maxAttempts: 3, backoff: { type: 'exponential', delayMs: 1000 }, linkId: id,
        resubmittedFrom: null, createdAt: now,
      });
    }
    await store.insertJobs(batch);
    for (let k = 0; k < batch.length; k += 200) {
      const part = batch.slice(k, k + 200);
      await store.claimJobs(part.map((j) => ({ id: j.id, leaseToken: `t${j.id}` })), 'bench-worker', now + 60_000, now);
      await store.completeJobs(part.map((j) => ({ id: j.id, leaseToken: `t${j.id}`, result: null })), now);
    }
  }
}

const clock = new SystemClock();
const admin = new pg.Client({ connectionString: args['database-url'] });
await admin.connect();
const relayUs: number[] = [];
const brokerUs: number[] = [];
for (let run = 1; run <= runs; run++) {
  const schema = `docket_relay_bench_${process.pid}_${run}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const store = new PostgresStore({ connectionString: args['database-url'], schema, max: 4 });
  const bus = new KafkaEventBus({ brokers: args['kafka-brokers']!.split(',') });
  try {
    await store.migrate();
    await fill(store, jobs);
    const prefix = `docket-relay-bench-${process.pid}-${run}.`;
    await bus.ensureTopics(['job-events', 'worker-events', 'dependency-events'].map((t) => prefix + t));
    const relayOf = () => new EventRelay(store, clock, { bus, topicPrefix: prefix, source: 'docket/bench', batchSize }, (err) => console.error(err));
    await relayOf().runOnce(); // positions the log and publishes it once: the code is warm for the measured pass
    await store.events.setCursor(BUS_CURSOR, 0);
    const relay = relayOf(); // a relay remembers where it left the cursor: a new one reads it again
    const b0 = broker === undefined ? 0 : cpuSeconds(broker);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const events = await relay.runOnce();
    const cpu = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 300)); // the broker finishes its share
    relayUs.push((cpu.user + cpu.system) / events);
    if (broker !== undefined) brokerUs.push(((cpuSeconds(broker) - b0) * 1e6) / events);
    console.log(
      `run ${run}: ${events} events (${(events / jobs).toFixed(1)} per job) in ${Math.round(ms)} ms (${Math.round((events / ms) * 1000)}/s); relay ${relayUs.at(-1)!.toFixed(1)} µs CPU per event` +
        ` (user ${(cpu.user / events).toFixed(1)}, system ${(cpu.system / events).toFixed(1)})` +
        (broker !== undefined ? `; broker ${brokerUs.at(-1)!.toFixed(1)} µs` : '; broker not on this machine'),
    );
  } finally {
    await bus.close();
    await store.close();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  }
}
await admin.end();
console.log(
  `median of ${runs}: relay ${median(relayUs).toFixed(1)} µs CPU per event` + (brokerUs.length ? `, broker ${median(brokerUs).toFixed(1)} µs` : ''),
);
