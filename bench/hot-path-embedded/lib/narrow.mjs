// The redesigned embedded store, with each change as an option so that the variants isolate them:
//   stmts:  'loop' (one prepared statement per job in the batch's transaction) | 'json' (one
//           statement per batch: `WHERE id IN (SELECT unhex(value) FROM json_each(?))`)
//   events: 'trigger' (a row trigger writes one event row per change, as today) | 'batch' (the store
//           appends one event row per batch: its type, time and the packed ids)
//   finish: 'inplace' (a finished job stays in `hot`, state updated) | 'move' (it leaves `hot` for
//           the append-only `done` table)
//   dispatch: 'heap' (today's heap of every ready entry) | 'window' (a bounded window of the ready
//           order, paged from the `hot_ready` index)
//   claim:  'eager' (the claim is written before the handler runs) | 'coalesced' (the claim lives in
//           memory and is written by a flush only for jobs still running then; a job that ends
//           before the flush is written once, by its outcome)
// Ids are UUIDv7 stored as 16-byte blobs; states are small integers; defaults are stored as NULL.
import Database from 'better-sqlite3';
import { DEFAULT_BACKOFF, HeapDispatch, entryOf, idBlob } from './common.mjs';


const READY = 0;
const RUNNING = 1;
const SUCCEEDED = 2;

const SCHEMA = `
-- What a job is: written once at submit, never updated (reads by id and the claim join it).
CREATE TABLE spec (
  id BLOB PRIMARY KEY, tenant TEXT NOT NULL, queue TEXT NOT NULL, type TEXT NOT NULL, priority INTEGER NOT NULL,
  payload TEXT NOT NULL, labels TEXT, max_attempts INTEGER NOT NULL, backoff TEXT, link_id BLOB,
  resubmitted_from BLOB, timeout_ms INTEGER, created_at INTEGER NOT NULL, template_id TEXT,
  template_version INTEGER, callback_url TEXT
) WITHOUT ROWID;
-- Where a job is: the only table the hot path writes.
CREATE TABLE hot (
  id BLOB PRIMARY KEY, state INTEGER NOT NULL, queue TEXT NOT NULL, priority INTEGER NOT NULL,
  run_at INTEGER NOT NULL, expires_at INTEGER, attempt INTEGER NOT NULL DEFAULT 0, lease INTEGER,
  lease_expires_at INTEGER, worker_id TEXT, started_at INTEGER, finished_at INTEGER, updated_at INTEGER NOT NULL,
  state_reason TEXT, condition TEXT, blocked_at INTEGER, progress TEXT, result TEXT, errors TEXT
) WITHOUT ROWID;
-- The ready order (the dispatch's source), running leases (the reaper), finished jobs (retention).
CREATE INDEX hot_ready ON hot (queue, priority, run_at, id) WHERE state = 0;
CREATE INDEX hot_running ON hot (lease_expires_at) WHERE state = 1;
CREATE TABLE job_deps (job_id BLOB NOT NULL, depends_on BLOB NOT NULL, on_failure TEXT NOT NULL, PRIMARY KEY (job_id, depends_on)) WITHOUT ROWID;
CREATE INDEX job_deps_depends_on ON job_deps (depends_on);
`;
const FINISHED_INPLACE = `CREATE INDEX hot_finished ON hot (queue, state, finished_at, id) WHERE state >= 2;`;
const DONE_TABLE = `
-- Finished jobs, append-only in finish order (seq): retention deletes a prefix.
CREATE TABLE done (
  seq INTEGER PRIMARY KEY, id BLOB NOT NULL, queue TEXT NOT NULL, state INTEGER NOT NULL, attempt INTEGER NOT NULL,
  worker_id TEXT, started_at INTEGER, finished_at INTEGER NOT NULL, state_reason TEXT, result TEXT, errors TEXT
);
CREATE UNIQUE INDEX done_id ON done (id);
`;
const EVENTS_BATCH = `
-- One row per batch: the ids packed 16 bytes each; attempts packed as uint16 when the type needs them.
CREATE TABLE events (pos INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, ids BLOB NOT NULL, attempts BLOB, data TEXT);
`;
const EVENTS_TRIGGER = `
CREATE TABLE events (pos INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, key BLOB NOT NULL,
  queue TEXT, state INTEGER, prev_state INTEGER, attempt INTEGER, priority INTEGER, worker_id TEXT, reason TEXT, data TEXT);
CREATE TRIGGER hot_events_insert AFTER INSERT ON hot BEGIN
  INSERT INTO events (type, at, key, queue, state, attempt, priority) VALUES ('submitted', NEW.updated_at, NEW.id, NEW.queue, NEW.state, NEW.attempt, NEW.priority);
END;
CREATE TRIGGER hot_events_state AFTER UPDATE OF state ON hot WHEN OLD.state <> NEW.state BEGIN
  INSERT INTO events (type, at, key, queue, state, prev_state, attempt, priority, worker_id, reason)
    VALUES (CASE NEW.state WHEN 1 THEN 'started' ELSE 'state' END, NEW.updated_at, NEW.id, NEW.queue, NEW.state, OLD.state,
      NEW.attempt, NEW.priority, NEW.worker_id, NEW.state_reason);
END;
`;

const DEFAULT_BACKOFF_JSON = JSON.stringify(DEFAULT_BACKOFF);
const isDefaultBackoff = (b) => b === DEFAULT_BACKOFF || JSON.stringify(b) === DEFAULT_BACKOFF_JSON;
const hexIds = (jobs) => JSON.stringify(jobs.map((j) => j.hex));
const uuidOfHex = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toLowerCase();
const packIds = (jobs) => Buffer.from(jobs.map((j) => j.hex).join(''), 'hex');

/** The job a handler gets, from a spec row and the claim's values (as toClaimedJob does). */
export function jobOf(r, attempt, lease, now) {
  return {
    id: uuidOfHex(r.hex), hex: r.hex, tenant: r.tenant, queue: r.queue, type: r.type, payload: JSON.parse(r.payload),
    priority: r.priority, labels: r.labels === null ? {} : JSON.parse(r.labels), state: 'running', attempt,
    maxAttempts: r.max_attempts, backoff: r.backoff === null ? DEFAULT_BACKOFF : JSON.parse(r.backoff),
    linkId: r.link_id === null ? uuidOfHex(r.hex) : r.link_id, timeoutMs: r.timeout_ms, createdAt: r.created_at,
    lease, startedAt: now,
  };
}

/** The jobs of a wire batch, built where the handlers run. */
export function jobsOfWire({ lease, now, json }) {
  return JSON.parse(json).map((a) => {
    const id = uuidOfHex(a[0]);
    return { id, hex: a[0], tenant: a[1], queue: a[2], type: a[3], priority: a[4], payload: a[5], labels: a[6] ?? {}, state: 'running',
      maxAttempts: a[7], backoff: a[8] ?? DEFAULT_BACKOFF, linkId: a[9] === null ? id : uuidOfHex(a[9]), timeoutMs: a[10], createdAt: a[11],
      attempt: a[12], lease, startedAt: now };
  });
}
/** Finished jobs as completion groups: one [lease, ids JSON, startedAt] per claim batch. */
export function groupsOf(jobs) {
  const by = new Map();
  for (const j of jobs) {
    let g = by.get(j.lease);
    if (!g) by.set(j.lease, (g = { ids: [], startedAt: j.startedAt }));
    g.ids.push(j.hex);
  }
  return [...by].map(([lease, g]) => [lease, JSON.stringify(g.ids), g.startedAt]);
}

const SPEC_COLUMNS = 'hex(id) AS hex, tenant, queue, type, priority, payload, labels, max_attempts, backoff, link_id, timeout_ms, created_at';

export function openNarrow(path, o) {
  const { stmts = 'json', events = 'batch', finish = 'inplace', dispatch: dispatchKind = 'heap', claim: claimKind = 'eager', synchronous = 'NORMAL', reopen = false, rows = false, claimEvent = false } = o;
  // claimEvent (with claim 'coalesced'): the claim batch still writes its `started` event row (one row per
  // batch, no job row), so that a restart can count the attempt of a job that was running when the process died
  // rows: the claim returns the spec rows with attempt, lease and start added, and the handler's
  // side builds the job objects (on the main thread, in design B)
  const build = rows ? (r, attempt, lease, now) => ((r.attempt = attempt), (r.lease = lease), (r.startedAt = now), r) : jobOf;
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  if (!reopen) db.exec(SCHEMA + (finish === 'move' ? DONE_TABLE : FINISHED_INPLACE) + (events === 'batch' ? EVENTS_BATCH : EVENTS_TRIGGER));

  const insertSpec = db.prepare(`INSERT INTO spec (id, tenant, queue, type, priority, payload, labels, max_attempts, backoff, link_id,
    resubmitted_from, timeout_ms, created_at, template_id, template_version, callback_url)
    VALUES (@id, @tenant, @queue, @type, @priority, @payload, @labels, @maxAttempts, @backoff, @linkId, NULL, @timeoutMs, @createdAt, NULL, NULL, NULL)`);
  const insertHot = db.prepare(`INSERT INTO hot (id, state, queue, priority, run_at, expires_at, updated_at)
    VALUES (@id, 0, @queue, @priority, @runAt, @expiresAt, @createdAt)`);
  const insertEvent = events === 'batch' ? db.prepare('INSERT INTO events (type, at, ids, attempts) VALUES (?, ?, ?, ?)') : null;
  const batchEvent = (type, now, jobs, attempts) => {
    if (insertEvent && jobs.length > 0) insertEvent.run(type, now, packIds(jobs), attempts ? Buffer.from(Uint16Array.from(attempts).buffer) : null);
  };

  // ---- claim: ready -> running, lease = the claim batch's number (a job claimed again gets a later one)
  const CLAIM_SET = `SET state = ${RUNNING}, attempt = attempt + 1, lease = @lease, lease_expires_at = @leaseExpiresAt,
    worker_id = @workerId, started_at = @now, updated_at = @now, progress = NULL`;
  const CLAIM_WHERE = `state = ${READY} AND (expires_at IS NULL OR expires_at > @now)`;
  const claimOne = db.prepare(`UPDATE hot ${CLAIM_SET} WHERE id = unhex(@hex) AND ${CLAIM_WHERE} RETURNING attempt`);
  const specOne = db.prepare(`SELECT ${SPEC_COLUMNS} FROM spec WHERE id = unhex(?)`);
  const claimMany = db.prepare(`UPDATE hot ${CLAIM_SET} WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND ${CLAIM_WHERE} RETURNING hex(id) AS hex, attempt`);
  const specMany = db.prepare(`SELECT ${SPEC_COLUMNS} FROM spec WHERE id IN (SELECT unhex(value) FROM json_each(?))`);

  // ---- completion: running -> succeeded, fenced by (id, lease)
  const DONE_SET = `SET state = ${SUCCEEDED}, result = @result, lease_expires_at = NULL, finished_at = @now, updated_at = @now`;
  const completeOne = db.prepare(`UPDATE hot ${DONE_SET} WHERE id = unhex(@hex) AND state = ${RUNNING} AND lease = @lease`);
  const completeMany = db.prepare(`UPDATE hot ${DONE_SET} WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND state = ${RUNNING} AND lease = @lease`);
  // coalesced: the claim was never written; the outcome writes attempt and start with it
  const finishUnclaimed = db.prepare(`UPDATE hot SET state = ${SUCCEEDED}, attempt = attempt + 1, worker_id = @workerId, started_at = @startedAt,
    result = NULL, finished_at = @now, updated_at = @now WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND state = ${READY}`);
  const moveDone = finish === 'move'
    ? db.prepare(`INSERT INTO done (id, queue, state, attempt, worker_id, started_at, finished_at, result)
        SELECT id, queue, ${SUCCEEDED}, attempt, worker_id, started_at, @now, @result FROM hot
        WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND state = ${RUNNING} AND lease = @lease`)
    : null;
  const deleteHot = finish === 'move'
    ? db.prepare(`DELETE FROM hot WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND state = ${RUNNING} AND lease = @lease`)
    : null;
  // settleAfter's probe, as today: one indexed lookup per finishing batch ("any dependents?")
  const dependents = db.prepare('SELECT DISTINCT job_id FROM job_deps WHERE depends_on IN (SELECT unhex(value) FROM json_each(?))');
  const settleAfter = (ids) => void (ids !== '[]' && dependents.all(ids));

  // ---- dispatch
  const heap = dispatchKind === 'heap' ? new HeapDispatch() : null;
  // The window: every untaken ready entry whose key (priority, run_at, id) is <= windowEnd is in
  // window[windowAt..], in order; later ones are in the store only, read a page at a time.
  // `complete`: the store held nothing ready beyond windowEnd when it was last read.
  const WINDOW = 1000;
  let window = [];
  let windowAt = 0;
  let windowEnd = null;
  let complete = false;
  const pageFirst = db.prepare(`SELECT hex(id) AS hex, priority, run_at FROM hot WHERE queue = ? AND state = ${READY}
    ORDER BY priority, run_at, id LIMIT ${WINDOW}`);
  const pageAfter = db.prepare(`SELECT hex(id) AS hex, priority, run_at FROM hot WHERE queue = ? AND state = ${READY}
    AND (priority, run_at, id) > (?, ?, unhex(?)) ORDER BY priority, run_at, id LIMIT ${WINDOW}`);
  const before = (a, b) => a.priority < b.priority || (a.priority === b.priority && (a.run_at < b.run_at || (a.run_at === b.run_at && a.hex < b.hex)));
  const takeWindow = (max) => {
    const out = [];
    while (out.length < max) {
      if (windowAt >= window.length) {
        if (complete) break;
        const rows = windowEnd ? pageAfter.all('default', windowEnd.priority, windowEnd.run_at, windowEnd.hex) : pageFirst.all('default');
        window = rows;
        windowAt = 0;
        complete = rows.length < WINDOW;
        if (rows.length === 0) break;
        windowEnd = rows[rows.length - 1];
      }
      out.push(window[windowAt++]);
    }
    return out;
  };
  /** A submit's entries: into the window when they sort inside it, or after it while it is complete and has room. */
  const enqueueWindow = (jobs) => {
    for (const j of jobs) {
      const e = { hex: j.hex, priority: j.priority, run_at: j.runAt };
      if (windowEnd !== null && !before(windowEnd, e)) {
        let i = window.length;
        while (i > windowAt && before(e, window[i - 1])) i--;
        window.splice(i, 0, e);
      } else if (complete && window.length - windowAt < WINDOW) {
        window.push(e);
        windowEnd = e;
      } else complete = false;
    }
  };

  // ---- transactions
  const insertTx = db.transaction((jobs) => {
    for (const j of jobs) {
      const id = idBlob(j.id);
      const p = { id, tenant: j.tenant, queue: j.queue, type: j.type, priority: j.priority, payload: j.payloadJson,
        labels: Object.keys(j.labels).length ? JSON.stringify(j.labels) : null, maxAttempts: j.maxAttempts,
        backoff: isDefaultBackoff(j.backoff) ? null : JSON.stringify(j.backoff), linkId: j.linkId === j.id ? null : j.linkId,
        timeoutMs: j.timeoutMs, createdAt: j.createdAt, runAt: j.runAt, expiresAt: j.expiresAt };
      insertSpec.run(p);
      insertHot.run(p);
    }
    batchEvent('submitted', jobs[0].createdAt, jobs);
  });
  let leaseSeq = Date.now() * 1000; // above any earlier run's (a restart reads max(lease) in a real store)
  const claimTx = db.transaction((entries, workerId, leaseExpiresAt, now) => {
    const lease = ++leaseSeq;
    const claimed = [];
    if (stmts === 'loop') {
      for (const e of entries) {
        const row = claimOne.get({ hex: e.hex, lease, leaseExpiresAt, workerId, now });
        if (row) claimed.push(build(specOne.get(e.hex), row.attempt, lease, now));
      }
    } else {
      const ids = JSON.stringify(entries.map((e) => e.hex));
      const rows = claimMany.all({ ids, lease, leaseExpiresAt, workerId, now });
      const attempts = new Map(rows.map((r) => [r.hex, r.attempt]));
      for (const r of specMany.all(ids)) {
        const attempt = attempts.get(r.hex);
        if (attempt !== undefined) claimed.push(build(r, attempt, lease, now));
      }
    }
    batchEvent('started', now, claimed, claimed.map((j) => j.attempt));
    return claimed;
  });
  /** Coalesced claims: read the specs only; the lease is kept in memory (`leases`). */
  const leases = new Map();
  const readTx = db.transaction((entries, now) => {
    const lease = ++leaseSeq;
    const claimed = [];
    for (const r of specMany.all(JSON.stringify(entries.map((e) => e.hex)))) {
      claimed.push(build(r, 1, lease, now));
      leases.set(r.hex, lease);
    }
    return claimed;
  });
  const completeTx = db.transaction((jobs, now) => {
    let ok = 0;
    if (claimKind === 'coalesced') {
      const live = jobs.filter((j) => leases.get(j.hex) === j.lease); // a stale lease is refused here
      for (const j of live) leases.delete(j.hex);
      const ids = hexIds(live);
      ok = finishUnclaimed.run({ ids, workerId: 'w1', startedAt: live[0]?.startedAt ?? now, now }).changes;
      settleAfter(ids);
      batchEvent('started+succeeded', now, live, live.map((j) => j.attempt));
      return ok;
    }
    // group by lease (the claim batch): one statement per group, usually one or two
    const byLease = new Map();
    for (const j of jobs) {
      let g = byLease.get(j.lease);
      if (!g) byLease.set(j.lease, (g = []));
      g.push(j);
    }
    for (const [lease, group] of byLease) {
      if (stmts === 'loop') {
        for (const j of group) ok += completeOne.run({ hex: j.hex, lease, result: null, now }).changes;
      } else if (finish === 'move') {
        const p = { ids: hexIds(group), lease, result: null, now };
        moveDone.run(p);
        ok += deleteHot.run(p).changes;
      } else {
        ok += completeMany.run({ ids: hexIds(group), lease, result: null, now }).changes;
      }
    }
    settleAfter(hexIds(jobs));
    batchEvent('succeeded', now, jobs);
    return ok;
  });

  // ---- the wire form: SQLite itself writes a claimed batch as one JSON text (json_group_array),
  // so no row objects are made on the store's side, and the batch crosses threads as one string;
  // completions come back as [lease, '["HEX",...]', startedAt] groups, bound to json_each as they are.
  const WIRE_ROW = `json_array(hex(s.id), s.tenant, s.queue, s.type, s.priority, json(s.payload), json(s.labels), s.max_attempts,
    json(s.backoff), nullif(hex(s.link_id), ''), s.timeout_ms, s.created_at, ATTEMPT)`;
  const claimNoReturn = db.prepare(`UPDATE hot ${CLAIM_SET} WHERE id IN (SELECT unhex(value) FROM json_each(@ids)) AND ${CLAIM_WHERE}`);
  const claimedWire = db.prepare(`SELECT json_group_array(${WIRE_ROW.replace('ATTEMPT', 'h.attempt')}) AS j FROM hot h JOIN spec s ON s.id = h.id
    WHERE h.id IN (SELECT unhex(value) FROM json_each(@ids)) AND h.state = ${RUNNING} AND h.lease = @lease`);
  const readWire = db.prepare(`SELECT json_group_array(${WIRE_ROW.replace('ATTEMPT', 'h.attempt + 1')}) AS j FROM hot h JOIN spec s ON s.id = h.id
    WHERE h.id IN (SELECT unhex(value) FROM json_each(@ids)) AND h.state = ${READY}`);
  const wireEvent = insertEvent ? db.prepare(`INSERT INTO events (type, at, ids) SELECT @type, @at, unhex(group_concat(value, '')) FROM json_each(@ids)`) : null;
  const leaseIds = new Map(); // coalesced claims: lease -> the hex ids still held under it
  const wireClaimTx = db.transaction((entries, now) => {
    const lease = ++leaseSeq;
    const ids = JSON.stringify(entries.map((e) => e.hex));
    if (claimKind === 'coalesced') {
      leaseIds.set(lease, new Set(entries.map((e) => e.hex)));
      if (claimEvent) wireEvent?.run({ type: 'started', at: now, ids });
      return { lease, now, json: readWire.get({ ids }).j };
    }
    claimNoReturn.run({ ids, lease, leaseExpiresAt: now + 30_000, workerId: 'w1', now });
    wireEvent?.run({ type: 'started', at: now, ids });
    return { lease, now, json: claimedWire.get({ ids, lease }).j };
  });
  const wireCompleteTx = db.transaction((groups, now) => {
    let ok = 0;
    for (const [lease, ids0, startedAt] of groups) {
      let ids = ids0;
      if (claimKind === 'coalesced') {
        const held = leaseIds.get(lease);
        const live = JSON.parse(ids0).filter((h) => held?.delete(h)); // a stale lease is refused here
        if (held && held.size === 0) leaseIds.delete(lease);
        if (live.length === 0) continue;
        ids = JSON.stringify(live);
        ok += finishUnclaimed.run({ ids, workerId: 'w1', startedAt, now }).changes;
      } else ok += completeMany.run({ ids, lease, result: null, now }).changes;
      settleAfter(ids);
      wireEvent?.run({ type: claimKind === 'coalesced' && !claimEvent ? 'started+succeeded' : 'succeeded', at: now, ids });
    }
    return ok;
  });

  return {
    db,
    enqueue(jobs) {
      for (const j of jobs) j.hex = j.id.replaceAll('-', '').toUpperCase();
      insertTx(jobs);
      if (heap) heap.enqueue(jobs.map((j) => ({ ...entryOf(j), hex: j.hex })));
      else enqueueWindow(jobs);
    },
    /** Claims in the wire form: { lease, now, json } (json '[]' when nothing was ready). */
    wireClaim(max, now) {
      const entries = heap ? heap.take(max) : takeWindow(max);
      return entries.length === 0 ? { lease: 0, now, json: '[]' } : wireClaimTx(entries, now);
    },
    wireComplete(groups, now) {
      return groups.length === 0 ? 0 : wireCompleteTx(groups, now);
    },
    claim(max, now) {
      if (o.wire) return jobsOfWire(this.wireClaim(max, now));
      const entries = heap ? heap.take(max) : takeWindow(max);
      if (entries.length === 0) return [];
      return claimKind === 'coalesced' ? readTx(entries, now) : claimTx(entries, 'w1', now + 30_000, now);
    },
    complete(jobs, now) {
      if (o.wire) return this.wireComplete(groupsOf(jobs), now);
      return jobs.length === 0 ? 0 : completeTx(jobs, now);
    },
    staleRefused(job, now) {
      return this.complete([{ ...job, lease: -1 }], now) === 0;
    },
    /** What the dispatch holds in memory (entries). */
    held() {
      return heap ? heap.size : window.length - windowAt;
    },
    /** A restart: the heap loads every ready row; the window loads nothing (its first take reads a page). */
    rebuild() {
      if (!heap) return 0;
      let n = 0;
      for (const r of db.prepare(`SELECT hex(id) AS hex, queue, priority, run_at FROM hot WHERE state = ${READY}`).iterate()) {
        heap.enqueue([{ id: uuidOfHex(r.hex), hex: r.hex, queue: r.queue, tenant: 'bench', priority: r.priority, dueAt: r.run_at, type: 'noop' }]);
        n++;
      }
      return n;
    },
    close() {
      db.close();
    },
  };
}
