// Migrations 0016_hot_path and 0017_self_link upgrade a database in place: jobs in every state,
// written at migration 0015 as that Docket wrote them (its jobs table and triggers), are all there
// after them and run to their end through the engine (openEmbedded + Worker).
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { migrate } from '../src/adapters/sqlite/migrate.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { until } from './helpers/process.js';

const DIR = fileURLToPath(new URL('../src/adapters/sqlite/migrations/', import.meta.url));
const dirs: string[] = [];
let docket: Docket | undefined;
let worker: Worker | undefined;

afterEach(async () => {
  await worker?.close(100);
  await docket?.stop();
  worker = docket = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A database at migration `last`, applied as the migration runner does (version row, then the file). */
function databaseAt(path: string, last: number): Database.Database {
  const db = new Database(path);
  db.exec('CREATE TABLE docket_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.sql')).sort()) {
    const version = Number(file.slice(0, 4));
    if (version > last) break;
    db.transaction(() => {
      db.prepare('INSERT INTO docket_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, file, 1);
      db.exec(readFileSync(join(DIR, file), 'utf8'));
    })();
  }
  return db;
}

const T = Date.now();
const BACKOFF = '{"type":"exponential","delayMs":1000,"maxDelayMs":3600000,"jitter":0.2}';
let seq = 0;

/** A row of the old jobs table (0001 + 0003 + 0007 + 0011 + 0013), with its defaults; the old triggers log its events. */
function oldJob(db: Database.Database, fields: Record<string, unknown>): string {
  const id = `0190a000-0000-7000-8000-${String(++seq).padStart(12, '0')}`;
  const row: Record<string, unknown> = {
    id, tenant: 'acme', queue: 'default', type: 'work', payload: `{"n":${seq}}`, priority: 5, labels: '{}', state: 'ready',
    state_reason: null, run_at: T - 1000, expires_at: null, timeout_ms: null, max_attempts: 3, attempt: 0, backoff: BACKOFF,
    link_id: id, resubmitted_from: null, lease_token: null, lease_expires_at: null, worker_id: null, progress: null, result: null,
    errors: '[]', created_at: T - 1000, updated_at: T - 1000, started_at: null, finished_at: null, condition: null, blocked_at: null,
    template_id: null, template_version: null, callback_url: null, trace_context: null, ...fields,
  };
  const columns = Object.keys(row);
  db.prepare(`INSERT INTO jobs (${columns.join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row);
  return id;
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const failedError = JSON.stringify([{ message: 'boom', attempt: 3, at: T - 500 }]);

describe('migrations 0016_hot_path and 0017_self_link', () => {
  it('keeps every job of a database at 0015, in every state, and the engine runs them all to their end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'docket-hot-path-'));
    dirs.push(dir);
    const path = join(dir, 'docket.db');
    const db = databaseAt(path, 15);
    const ids = {
      ready: oldJob(db, { labels: '{"env":"prod"}', priority: 2, trace_context: JSON.stringify({ traceparent: TRACEPARENT }) }),
      scheduled: oldJob(db, { state: 'scheduled', run_at: T + 300 }),
      // A worker that died: its lease ran out; the reaper gives the job back.
      running: oldJob(db, { state: 'running', attempt: 1, lease_token: 'old-lease', lease_expires_at: T - 10, worker_id: 'gone', started_at: T - 900 }),
      retrying: oldJob(db, { state: 'retrying', attempt: 1, run_at: T - 1, errors: JSON.stringify([{ message: 'flaky', attempt: 1, at: T - 600 }]) }),
      blocked: oldJob(db, { state: 'blocked', attempt: 1, condition: 'service:payments', blocked_at: T - 700, errors: JSON.stringify([{ message: 'down', attempt: 1, at: T - 700 }]) }),
      succeeded: oldJob(db, { state: 'succeeded', attempt: 1, result: '{"ok":true}', started_at: T - 900, finished_at: T - 800, backoff: '{"type":"fixed","delayMs":5}' }),
      failed: oldJob(db, { state: 'failed', state_reason: 'attempts_exhausted', attempt: 3, errors: failedError, finished_at: T - 500 }),
      cancelled: oldJob(db, { state: 'cancelled', state_reason: 'cancelled', finished_at: T - 400 }),
      expired: oldJob(db, { state: 'expired', state_reason: 'expired_before_start', expires_at: T - 300, finished_at: T - 300 }),
    };
    const dependency = oldJob(db, {});
    const waiting = oldJob(db, { state: 'waiting' });
    db.prepare("INSERT INTO job_deps (job_id, depends_on, on_failure) VALUES (?, ?, 'cancel')").run(waiting, dependency);
    // A resubmit of the failed job: linked to it, not to itself.
    const resubmit = oldJob(db, { state: 'cancelled', state_reason: 'cancelled', finished_at: T - 100, link_id: ids.failed, resubmitted_from: ids.failed });
    db.prepare(`INSERT INTO conditions (key, status, first_seen_at, last_seen_at, last_error, failures, next_probe_at, updated_at)
      VALUES ('service:payments', 'open', ?, ?, 'down', 1, ?, ?)`).run(T - 700, T - 700, T - 1, T - 700);
    const before = db.prepare('SELECT * FROM jobs ORDER BY id').all() as Record<string, unknown>[];
    const eventsBefore = db.prepare('SELECT * FROM events ORDER BY pos').all();
    db.close();

    // The migration alone: every column of every job reads as before, the event log is untouched.
    const raw = new Database(path);
    expect(migrate(raw)).toEqual(['0016_hot_path', '0017_self_link', '0018_event_ranges']);
    const after = raw.prepare('SELECT * FROM jobs ORDER BY id').all() as Record<string, unknown>[];
    expect(after.map(({ link_ref: _, ...job }) => job)).toEqual(before);
    // 0017: a job linked to itself stores an empty link id; the resubmit keeps its link.
    expect(raw.prepare('SELECT id, link_id FROM job_specs WHERE link_id <> \'\'').all()).toEqual([{ id: resubmit, link_id: ids.failed }]);
    expect(raw.prepare('SELECT pos, topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt FROM events ORDER BY pos').all())
      .toEqual((eventsBefore as Record<string, unknown>[]).map(({ pos, topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt }) => ({ pos, topic, key, tenant, link_id, type, at, queue, job_type, state, prev_state, attempt })));
    expect(raw.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'jobs' AND type = 'view'").get()).toEqual({ n: 1 });
    raw.close();

    // The engine on the upgraded file: every unfinished job runs to success, the dead letter too once requeued.
    docket = await openEmbedded({ path, leaseMs: 5000, maintenanceIntervalMs: 50, recoveryIntervalMs: 50 });
    const ran: string[] = [];
    const traces = new Map<string, unknown>();
    worker = new Worker({
      transport: new LocalTransport(docket.jobs),
      handlers: { work: async (job) => void (ran.push(job.id), traces.set(job.id, job.traceContext)) },
      logger: pino({ level: 'silent' }),
    });
    await worker.start();
    const failed = (await docket.jobs.queries.get(ids.failed))!;
    expect(failed).toMatchObject({ state: 'failed', errors: [{ message: 'boom' }] });
    await docket.jobs.deadLetters.requeue([failed]);

    const toRun = [ids.ready, ids.scheduled, ids.running, ids.retrying, ids.blocked, ids.failed, dependency, waiting];
    const states = () => Promise.all(toRun.map(async (id) => (await docket!.jobs.queries.get(id))!.state));
    await until('every unfinished job to succeed', async () => ((await states()).every((s) => s === 'succeeded') ? true : undefined), 20_000);
    expect(new Set(ran)).toEqual(new Set(toRun));
    expect(await docket.jobs.queries.get(ids.ready)).toMatchObject({ labels: { env: 'prod' }, priority: 2, payload: { n: 1 }, attempt: 1, traceContext: { traceparent: TRACEPARENT } });
    // The claim hands the handler the submit's trace context (0013), kept by the migration.
    expect(traces.get(ids.ready)).toEqual({ traceparent: TRACEPARENT });
    expect(await docket.jobs.queries.get(ids.running)).toMatchObject({ attempt: 2 });
    expect(await docket.jobs.queries.get(ids.succeeded)).toMatchObject({ state: 'succeeded', result: { ok: true }, backoff: { type: 'fixed', delayMs: 5 } });
    expect(await docket.jobs.queries.get(ids.cancelled)).toMatchObject({ state: 'cancelled' });
    expect(await docket.jobs.queries.get(ids.expired)).toMatchObject({ state: 'expired' });
    // A list by link finds the job itself and the one linked to it.
    expect((await docket.jobs.queries.upTo({ linkId: ids.failed }, 10)).map((j) => j.id).sort()).toEqual([ids.failed, resubmit].sort());
    expect((await docket.jobs.queries.upTo({ linkId: ids.ready }, 10)).map((j) => j.id)).toEqual([ids.ready]);

    // The log goes on after the old rows: every job that ran was started and succeeded, in that order, once per run.
    const events = await docket.store.events.read(0, 10_000, { topics: ['job-events'] });
    const positions = events.map((e) => e.pos);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    for (const id of toRun) {
      const mine = events.filter((e) => e.key === id && (e.type === 'started' || e.type === 'succeeded')).map((e) => e.type);
      expect(mine.slice(-2), id).toEqual(['started', 'succeeded']);
    }
  }, 30_000);
});
