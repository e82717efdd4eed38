// Variant A: today's embedded hot path. The schema of migrations 0001-0011 (today-schema.sql), the
// statements of src/adapters/sqlite/queries.ts and the steps of SqliteStore.insertJobs, claimJobs and
// completeJobs (one prepared statement per job inside one transaction, the row triggers writing one
// event row per change, settleAfter's dependents lookup per batch), and the heap of every ready
// entry of MemoryDispatch.
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { HeapDispatch, entryOf, uuidv7 } from './common.mjs';

const SCHEMA = readFileSync(new URL('../today-schema.sql', import.meta.url), 'utf8');

const INSERT_JOB = `INSERT INTO jobs (id, tenant, queue, type, payload, priority, labels, state, run_at, expires_at,
  timeout_ms, max_attempts, backoff, link_id, resubmitted_from, created_at, updated_at, template_id, template_version, callback_url)
  VALUES (@id, @tenant, @queue, @type, @payloadJson, @priority, @labels, @state, @runAt, @expiresAt,
  @timeoutMs, @maxAttempts, @backoff, @linkId, @resubmittedFrom, @createdAt, @createdAt, @templateId, @templateVersion, @callbackUrl)`;
const CLAIMED_COLUMNS = `id, tenant, queue, type, payload, priority, labels, run_at, expires_at, timeout_ms,
  max_attempts, attempt, backoff, link_id, resubmitted_from, created_at, condition, template_id, template_version`;
const CLAIM_JOB = `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_token = @leaseToken,
  lease_expires_at = @leaseExpiresAt, worker_id = @workerId, started_at = @now, updated_at = @now, progress = NULL
  WHERE id = @id AND state = 'ready' AND (expires_at IS NULL OR expires_at > @now)
  RETURNING ${CLAIMED_COLUMNS}`;
const EXPIRE_READY_JOB = `UPDATE jobs SET state = 'expired', state_reason = 'expired_before_start',
  finished_at = @now, updated_at = @now
  WHERE id = @id AND state = 'ready' AND expires_at IS NOT NULL AND expires_at <= @now RETURNING *`;
const COMPLETE_JOB = `UPDATE jobs SET state = 'succeeded', result = @result, lease_expires_at = NULL,
  finished_at = @now, updated_at = @now
  WHERE id = @id AND state = 'running' AND lease_token = @leaseToken`;
const DEPENDENTS_OF_ANY = 'SELECT DISTINCT job_id FROM job_deps WHERE depends_on IN (SELECT value FROM json_each(?))';

/** toClaimedJob of src/adapters/sqlite/rows.ts. */
function toClaimedJob(r, lease) {
  return {
    id: r.id, tenant: r.tenant, queue: r.queue, type: r.type, payload: JSON.parse(r.payload), priority: r.priority,
    labels: r.labels === '{}' ? {} : JSON.parse(r.labels), state: 'running', stateReason: null, runAt: r.run_at,
    expiresAt: r.expires_at, timeoutMs: r.timeout_ms, maxAttempts: r.max_attempts, attempt: r.attempt,
    backoff: JSON.parse(r.backoff), linkId: r.link_id, resubmittedFrom: r.resubmitted_from, leaseToken: lease.leaseToken,
    leaseExpiresAt: lease.leaseExpiresAt, workerId: lease.workerId, progress: null, condition: r.condition, blockedAt: null,
    result: undefined, errors: [], createdAt: r.created_at, updatedAt: lease.now, startedAt: lease.now, finishedAt: null,
    templateId: r.template_id, templateVersion: r.template_version,
  };
}

export function openToday(path, { synchronous = 'NORMAL', reopen = false } = {}) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  if (!reopen) db.exec(SCHEMA);
  const insert = db.prepare(INSERT_JOB);
  const claim = db.prepare(CLAIM_JOB);
  const expire = db.prepare(EXPIRE_READY_JOB);
  const complete = db.prepare(COMPLETE_JOB);
  const dependents = db.prepare(DEPENDENTS_OF_ANY);
  const dispatch = new HeapDispatch();
  const settleAfter = (ids) => {
    if (ids.length > 0) dependents.all(JSON.stringify(ids));
  };

  const insertTx = db.transaction((jobs) => {
    for (const j of jobs) insert.run({ ...j, labels: JSON.stringify(j.labels), backoff: JSON.stringify(j.backoff) });
  });
  const claimTx = db.transaction((entries, workerId, leaseExpiresAt, now) => {
    const claimed = [];
    const expired = [];
    for (const e of entries) {
      const lease = { id: e.id, leaseToken: uuidv7(), leaseExpiresAt, workerId, now };
      const row = claim.get(lease);
      if (row) {
        claimed.push(toClaimedJob(row, lease));
        continue;
      }
      const gone = expire.get({ id: e.id, now });
      if (gone) expired.push(gone.id);
    }
    settleAfter(expired);
    return claimed;
  });
  const completeTx = db.transaction((jobs, now) => {
    const done = [];
    for (const j of jobs) {
      if (complete.run({ id: j.id, leaseToken: j.leaseToken, result: null, now }).changes === 1) done.push(j.id);
    }
    settleAfter(done);
    return done.length;
  });

  return {
    db,
    dispatch,
    /** SqliteStore.insertJobs, then the dispatch's enqueue as JobService.publish does. */
    enqueue(jobs) {
      insertTx(jobs);
      dispatch.enqueue(jobs.map(entryOf));
    },
    claim(max, now) {
      const entries = dispatch.take(max);
      return entries.length === 0 ? [] : claimTx(entries, 'w1', now + 30_000, now);
    },
    complete(jobs, now) {
      return completeTx(jobs, now);
    },
    /** A completion with a lease that is not the job's: refused? */
    staleRefused(job, now) {
      return complete.run({ id: job.id, leaseToken: 'stale', result: null, now }).changes === 0;
    },
    /** JobService.rebuildDispatch over SqliteStore.loadDispatchable: every ready row into the heap. */
    rebuild() {
      let n = 0;
      let ready = [];
      const load = db.prepare(`SELECT id, queue, tenant, priority, run_at, type, labels, state FROM jobs
        WHERE state IN ('ready','scheduled','retrying')`);
      for (const r of load.iterate()) {
        const labels = JSON.parse(r.labels);
        const e = { id: r.id, queue: r.queue, tenant: r.tenant, priority: r.priority, dueAt: Number(r.run_at), type: r.type };
        if (Object.keys(labels).length > 0) e.labels = labels;
        ready.push(e);
        if (++n % 10_000 === 0) dispatch.enqueue(ready), (ready = []);
      }
      dispatch.enqueue(ready);
      return n;
    },
    close() {
      db.close();
    },
  };
}
