import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { DependencyFailurePolicy } from '../src/domain/dag.js';
import type { Job } from '../src/domain/job.js';
import { EXPIRABLE_STATES, JOB_STATES, TRANSITIONS, isLegalTransition, isTerminal, type JobState } from '../src/domain/states.js';
import type { LifecycleEvent } from '../src/services/lifecycle.js';
import { manualDeployments, type ManualEngine } from './helpers/deployments.js';

// The job state machine under random commands, on both deployments (embedded: SQLite + the memory
// dispatch; production: PostgreSQL + Redis, each run on an emptied schema and a key prefix of its own). After every
// command it checks (a) no job lost, (b) each job in exactly one place of the dispatch index, read
// through the port (`placesOf`), (c) every move recorded in the event log users read, along the
// transition table, (d) stale and wrong lease tokens change nothing, (e) terminal jobs stay put
// (until a dead letter is requeued), (f) attempts within maxAttempts, (g) dependents released or
// cancelled exactly when their dependencies and policy say.

const LEASE_MS = 10_000;
/**
 * Runs per deployment (FC_RUNS=<n> overrides both): a production run costs an emptied schema, a
 * key prefix and a few round trips per command, ~0.5 s on the shared 2-core machine against ~30 ms
 * embedded, so it runs fewer; 60 runs of this seed take every edge of the table.
 */
const NUM_RUNS: Record<string, number> = { embedded: 300, production: 60 };
/**
 * One seed by default, so that every run of the suite checks the same scenarios and the reach
 * check below (every edge of the table) cannot fail by chance; FC_SEED=<n> explores others.
 */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20_261_207;
const WORKERS = ['w1', 'w2', 'w3'];
const UNSUCCESSFUL: readonly JobState[] = ['failed', 'cancelled', 'expired'];
type TokenOp = 'complete' | 'fail' | 'progress' | 'release' | 'heartbeat';

/**
 * fast-check leans to small numbers and to present options; left so, most jobs would be delayed,
 * expire at once, allow one attempt and fail for good, and the rarer states (retrying, blocked)
 * would hardly occur in a few dozen runs. Hence the explicit weights and unbiased numbers.
 */
const sometimes = <T>(weightOfNull: number, arb: fc.Arbitrary<T>) => fc.oneof({ weight: weightOfNull, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.noBias(arb) });
const jobSpec = fc.record({
  priority: fc.integer({ min: 1, max: 10 }),
  delayMs: sometimes(2, fc.integer({ min: 1, max: 5000 })),
  expiresInMs: sometimes(1, fc.integer({ min: 1, max: 20_000 })),
  maxAttempts: fc.noBias(fc.integer({ min: 1, max: 3 })),
  backoffMs: fc.noBias(fc.integer({ min: 0, max: 3000 })),
  // Existing jobs of the run to wait for (picks; none for two jobs in three), and the policy.
  deps: fc.oneof({ weight: 2, arbitrary: fc.constant([] as number[]) }, { weight: 1, arbitrary: fc.array(fc.noBias(fc.nat({ max: 1000 })), { minLength: 1, maxLength: 2 }) }),
  policy: fc.constantFrom<DependencyFailurePolicy>('cancel', 'continue'),
});
/** Chooses among items (`choose`): unbiased, since fast-check's bias to small numbers would pick the first one mostly. */
const pick = fc.noBias(fc.nat({ max: 1000 }));
const tokenOp = fc.constantFrom<TokenOp>('complete', 'fail', 'progress', 'release', 'heartbeat');
const command = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('submit' as const), jobs: fc.array(jobSpec, { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), max: fc.integer({ min: 1, max: 5 }), worker: fc.nat({ max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick, retryable: fc.noBias(fc.integer({ min: 0, max: 3 })).map((n) => n > 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('progress' as const), pick, percent: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stale' as const), op: tokenOp, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrong' as const), op: tokenOp, pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick, finished: fc.noBias(fc.integer({ min: 0, max: 3 })).map((n) => n === 0) }) },
  // Recovery parking and dead letters: a transient failure parks a job under the condition (and opens
  // its gate: claimed jobs of the same queue and type park at once), the recovery loop's release and
  // abandon, an operator closing the condition, and a dead letter requeued.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('park' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('releaseParked' as const), max: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leaseLoss' as const), advanceMs: fc.noBias(fc.integer({ min: LEASE_MS / 2, max: 2 * LEASE_MS })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), advanceMs: fc.noBias(fc.integer({ min: 0, max: 3000 })) }) },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

/** What the runs of one deployment reached, so a generator that never gets anywhere fails the suite. */
interface Reached {
  moves: Set<string>;
  cancelledFrom: Set<JobState>;
  staleRejected: number;
  wrongRejected: number;
}

/** What a dependent's dependencies say now: cancel it, release it, or keep it waiting. */
function verdict(policy: DependencyFailurePolicy, deps: readonly JobState[]): 'doomed' | 'releasable' | 'waits' {
  if (policy === 'cancel' && deps.some((s) => UNSUCCESSFUL.includes(s))) return 'doomed';
  if (deps.every((s) => s === 'succeeded' || (policy === 'continue' && UNSUCCESSFUL.includes(s)))) return 'releasable';
  return 'waits';
}

/** Priority first, then due time, then submission order (UUIDv7 ids sort by creation). */
const before = (a: Job, b: Job) => a.priority - b.priority || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function runScenario(engine: ManualEngine, commands: Command[], reached: Reached): Promise<void> {
  const { docket, clock, dispatch, store, service } = engine;
  const ids: string[] = [];
  /** Each dependent's dependencies and policy, as submitted. */
  const dependenciesOf = new Map<string, { deps: string[]; policy: DependencyFailurePolicy }>();
  /** Where the run has read the event log up to. */
  let logPos = 0;
  const tokens: { id: string; token: string }[] = [];
  const lastState = new Map<string, JobState>();
  const finalJobs = new Map<string, Job>();
  const events: LifecycleEvent[] = [];
  /** Whether the condition is open: its gate parks claimed jobs that it did not release itself. */
  let gateOpen = false;
  const CONDITION = 'svc:down';
  service.transitions.lifecycle.on((e) => events.push(e));
  let seenEvents = 0;

  /** Every job of the run, read from the store in one query (the run has its own store). */
  const snapshot = async () => {
    const page = await store.listJobs({}, 10_000);
    const jobs = new Map(page.jobs.map((j) => [j.id, j]));
    for (const id of ids) expect(jobs.has(id), `(a) job ${id} lost`).toBe(true);
    return jobs;
  };
  /** One job as the snapshot reads it, so that before and after compare field by field. */
  const read = async (id: string) => (await snapshot()).get(id);
  const choose = <T>(items: T[], n: number): T | undefined => (items.length === 0 ? undefined : items[n % items.length]);
  const runningJobs = (jobs: Map<string, Job>) => [...jobs.values()].filter((j) => j.state === 'running');

  const step = async (cmd: Command, was: Map<string, Job>) => {
    const now = () => clock.now();
    switch (cmd.kind) {
      case 'submit': {
        // Dependencies name existing jobs of the run, in any state; a dependent starts no later than
        // its dependencies allow, so it has no delay.
        const known = [...was.keys()];
        const depsOf = cmd.jobs.map((s) => (known.length === 0 ? [] : [...new Set(s.deps.map((n) => known[n % known.length]!))]));
        const inputs = cmd.jobs.map((s, i) => {
          const delayMs = depsOf[i]!.length > 0 ? null : s.delayMs;
          return {
            type: 'work',
            priority: s.priority,
            maxAttempts: s.maxAttempts,
            backoff: { type: 'fixed', delayMs: s.backoffMs },
            ...(delayMs !== null ? { delayMs } : {}),
            ...(s.expiresInMs !== null ? { expiresAt: new Date(now() + (delayMs ?? 0) + s.expiresInMs).toISOString() } : {}),
            ...(depsOf[i]!.length > 0 ? { dependsOn: depsOf[i], onDependencyFailure: s.policy } : {}),
          };
        });
        const jobs = await service.submitter.submit(inputs, { tenant: 't1' });
        jobs.forEach((j, i) => {
          const deps = depsOf[i]!;
          if (deps.length === 0) return expect(j.state).toBe('delayMs' in inputs[i]! ? 'scheduled' : 'ready');
          // Dependencies already settled apply at once: the reply says what the store did.
          const v = verdict(cmd.jobs[i]!.policy, deps.map((d) => was.get(d)!.state));
          expect(j.state, `submit with dependencies in ${deps.map((d) => was.get(d)!.state)}`).toBe(v === 'doomed' ? 'cancelled' : v === 'releasable' ? 'ready' : 'waiting');
          dependenciesOf.set(j.id, { deps, policy: cmd.jobs[i]!.policy });
        });
        ids.push(...jobs.map((j) => j.id));
        return;
      }
      case 'claim': {
        const ready = [...was.values()].filter((j) => j.state === 'ready');
        const claimed = await service.claims.claim({ workerId: WORKERS[cmd.worker]!, queues: ['default'], max: cmd.max });
        const after = await snapshot();
        const expiredNow = ready.filter((j) => after.get(j.id)!.state === 'expired');
        const gatedNow = ready.filter((j) => after.get(j.id)!.state === 'blocked');
        const live = ready.filter((j) => j.expiresAt === null || j.expiresAt > now());
        const passable = live.filter((j) => !gateOpen || j.condition === CONDITION);
        for (const j of gatedNow) expect(after.get(j.id), `${j.id} gated while no gate was open`).toMatchObject({ condition: CONDITION, stateReason: 'gated', attempt: j.attempt });
        if (!gateOpen) expect(gatedNow).toEqual([]);
        // A ready job that expires in the claim settles its dependents: one it releases may be claimed
        // in the same call (the claim fills `max`), and is no rival of the jobs taken before it.
        const releasedNow = claimed.filter((c) => was.get(c.id)!.state === 'waiting');
        if (releasedNow.length > 0) expect(expiredNow.length, 'claimed a waiting job that no expiry released').toBeGreaterThan(0);
        expect(claimed.length - releasedNow.length).toBeLessThanOrEqual(Math.min(cmd.max, passable.length));
        expect(claimed.length + expiredNow.length + gatedNow.length).toBeGreaterThanOrEqual(Math.min(cmd.max, ready.length));
        if (passable.length > 0) expect(claimed.length, 'claim answered nothing while live jobs were ready').toBeGreaterThan(0);
        for (const j of expiredNow) expect(j.expiresAt).toBeLessThanOrEqual(now());
        const stillReady = [...after.values()].filter((j) => j.state === 'ready' && was.get(j.id)?.state === 'ready');
        for (const c of claimed) {
          expect(['ready', 'waiting']).toContain(was.get(c.id)!.state);
          expect(c).toMatchObject({ state: 'running', attempt: was.get(c.id)!.attempt + 1, workerId: WORKERS[cmd.worker] });
          expect(c.expiresAt === null || c.expiresAt > now()).toBe(true);
          for (const r of stillReady) expect(before(c, r), `claimed ${c.id} ahead of ready ${r.id}`).toBeLessThan(0);
          expect(tokens.some((t) => t.token === c.leaseToken)).toBe(false);
          tokens.push({ id: c.id, token: c.leaseToken! });
        }
        return;
      }
      case 'complete':
      case 'fail':
      case 'progress':
      case 'release':
      case 'heartbeat': {
        const job = choose(runningJobs(was), cmd.pick);
        if (!job) return;
        const token = job.leaseToken!;
        if (cmd.kind === 'heartbeat') {
          // A lease that already ran out cannot be revived: the reaper may be giving the job away.
          const expired = job.leaseExpiresAt! < now();
          expect((await service.outcomes.heartbeat([{ id: job.id, leaseToken: token }])).lost).toEqual(expired ? [job.id] : []);
          expect((await read(job.id))!.leaseExpiresAt).toBe(expired ? job.leaseExpiresAt : now() + LEASE_MS);
          return;
        }
        const res =
          cmd.kind === 'complete'
            ? await service.outcomes.complete(job.id, token, { n: cmd.pick })
            : cmd.kind === 'fail'
              ? await service.outcomes.fail(job.id, token, { message: `err ${job.attempt}`, retryable: cmd.retryable })
              : cmd.kind === 'progress'
                ? await service.outcomes.progress(job.id, token, cmd.percent)
                : await service.outcomes.release(job.id, token);
        expect(res.ok).toBe(true);
        const got = (await read(job.id))!;
        if (cmd.kind === 'complete') expect(got).toMatchObject({ state: 'succeeded', result: { n: cmd.pick } });
        if (cmd.kind === 'progress') expect(got).toMatchObject({ state: 'running', progress: { percent: cmd.percent } });
        if (cmd.kind === 'release') expect(got).toMatchObject({ state: 'ready', attempt: job.attempt - 1 });
        if (cmd.kind === 'fail') {
          const retry = cmd.retryable && job.attempt < job.maxAttempts;
          expect(got.state).toBe(retry ? 'retrying' : 'failed');
          if (retry) expect(got.runAt).toBe(now() + (job.backoff as { delayMs: number }).delayMs);
          expect(got.errors).toHaveLength(job.errors.length + 1);
        }
        return;
      }
      case 'stale':
      case 'wrong': {
        const stale = tokens.filter((t) => !(was.get(t.id)!.state === 'running' && was.get(t.id)!.leaseToken === t.token));
        const target = cmd.kind === 'stale' ? choose(stale, cmd.pick) : choose(ids, cmd.pick) && { id: choose(ids, cmd.pick)!, token: `wrong-${cmd.pick}` };
        if (!target) return;
        const { id, token } = target;
        if (cmd.op === 'heartbeat') {
          expect((await service.outcomes.heartbeat([{ id, leaseToken: token }])).lost).toEqual([id]);
        } else {
          const res =
            cmd.op === 'complete'
              ? await service.outcomes.complete(id, token, 'late')
              : cmd.op === 'fail'
                ? await service.outcomes.fail(id, token, { message: 'late' })
                : cmd.op === 'progress'
                  ? await service.outcomes.progress(id, token, 50)
                  : await service.outcomes.release(id, token);
          expect(res.ok).toBe(false);
          expect(['lease_mismatch', 'wrong_state']).toContain(!res.ok && res.reason);
        }
        expect(await read(id), `(d) ${cmd.kind} token changed job ${id}`).toEqual(was.get(id));
        reached[cmd.kind === 'stale' ? 'staleRejected' : 'wrongRejected']++;
        return;
      }
      case 'cancel': {
        // Cancel in every state: a state is picked first (among those some job is in), then a job in it,
        // so the rarer states (retrying, blocked) are cancelled as often as the common ones; one
        // cancel in four tries a finished job (refused), the others one that can still be cancelled.
        const present = [...new Set([...was.values()].map((j) => j.state))];
        const finished = present.filter(isTerminal);
        const states = cmd.finished && finished.length > 0 ? finished : present.filter((st) => !isTerminal(st));
        const state = choose(states, cmd.pick);
        const id = state && choose([...was.values()].filter((j) => j.state === state).map((j) => j.id), Math.floor(cmd.pick / 7));
        if (!id) return;
        const res = await service.cancels.cancel(id);
        reached.cancelledFrom.add(was.get(id)!.state);
        if (isTerminal(was.get(id)!.state)) expect(res).toEqual({ ok: false, reason: 'wrong_state', state: was.get(id)!.state });
        else expect(res).toMatchObject({ ok: true, from: was.get(id)!.state, job: { state: 'cancelled' } });
        return;
      }
      case 'park': {
        const job = choose(runningJobs(was), cmd.pick);
        if (!job) return;
        expect(await service.outcomes.fail(job.id, job.leaseToken!, { message: 'downstream down', condition: CONDITION })).toMatchObject({ ok: true });
        gateOpen = true;
        // The condition, not the job, is at fault: the attempt does not count.
        expect(await read(job.id)).toMatchObject({ state: 'blocked', condition: CONDITION, attempt: job.attempt - 1, stateReason: 'parked' });
        return;
      }
      case 'releaseParked': {
        const parked = await docket.store.listParked(CONDITION, cmd.max);
        const released = await service.parking.release(parked, 'released');
        expect(released.map((j) => j.id)).toEqual(parked.map((j) => j.id));
        for (const j of released) expect(j).toMatchObject({ state: 'ready', condition: CONDITION, attempt: was.get(j.id)!.attempt });
        return;
      }
      case 'abandon': {
        const job = choose([...was.values()].filter((j) => j.state === 'blocked'), cmd.pick);
        if (!job) return;
        expect(await service.parking.abandon([job], 'gave up')).toBe(1);
        expect(await read(job.id)).toMatchObject({ state: 'failed', stateReason: `condition:${CONDITION}` });
        return;
      }
      case 'clear': {
        await docket.store.deleteCondition(CONDITION);
        await service.parking.refreshGates();
        gateOpen = false;
        return;
      }
      case 'requeue': {
        const job = choose([...was.values()].filter((j) => j.state === 'failed'), cmd.pick);
        if (!job) return;
        const [requeued] = await service.deadLetters.requeue([job]);
        expect(requeued).toMatchObject({ id: job.id, state: 'ready', attempt: 0 });
        finalJobs.delete(job.id); // a dead letter is final until it is requeued
        return;
      }
      case 'expire': {
        // As for cancel: a state first, then a job in it, so that the rarer states expire too.
        const expiring = [...was.values()].filter((j) => j.expiresAt !== null && EXPIRABLE_STATES.includes(j.state));
        const state = choose([...new Set(expiring.map((j) => j.state))], cmd.pick);
        const target = choose(expiring.filter((j) => j.state === state), Math.floor(cmd.pick / 7));
        if (target && target.expiresAt! >= now()) clock.advance(target.expiresAt! - now() + 1);
        await docket.expirer.runOnce();
        const after = await snapshot();
        for (const j of after.values()) {
          if (j.expiresAt !== null && j.expiresAt <= now()) expect(EXPIRABLE_STATES).not.toContain(j.state);
          const old = was.get(j.id);
          if (old && EXPIRABLE_STATES.includes(old.state) && old.expiresAt !== null && old.expiresAt <= now()) expect(j.state).toBe('expired');
        }
        return;
      }
      case 'leaseLoss': {
        clock.advance(cmd.advanceMs);
        await docket.reaper.runOnce();
        const after = await snapshot();
        for (const old of runningJobs(was)) {
          const j = after.get(old.id)!;
          if (old.leaseExpiresAt! >= now()) {
            expect(j).toEqual(old);
            continue;
          }
          expect(j.state).toBe(old.attempt < old.maxAttempts ? 'ready' : 'failed');
          expect(j.attempt).toBe(old.attempt);
          expect(j.errors.at(-1)).toMatchObject({ code: 'lease_expired', attempt: old.attempt });
        }
        return;
      }
      case 'tick': {
        clock.advance(cmd.advanceMs);
        await docket.promoter.runOnce();
        for (const j of (await snapshot()).values()) {
          if (j.state === 'scheduled' || j.state === 'retrying') expect(j.runAt).toBeGreaterThan(now());
        }
        return;
      }
    }
  };

  /** The job events logged since the last check, oldest first (PostgreSQL numbers them first, as the relay does). */
  const newEvents = async () => {
    await store.events.position(100_000);
    const out = [];
    for (;;) {
      const page = await store.events.read(logPos, 1000, { topics: ['job-events'] });
      out.push(...page);
      if (page.length < 1000) return out;
      logPos = page.at(-1)!.pos;
    }
  };

  const checkInvariants = async () => {
    const jobs = await snapshot(); // (a) no job lost
    // (c) In-process listeners hear moves along the table, with the table's cause.
    for (; seenEvents < events.length; seenEvents++) {
      const e = events[seenEvents]!;
      if (e.from === null) expect(['ready', 'scheduled', 'waiting', 'cancelled']).toContain(e.to);
      else {
        expect(isLegalTransition(e.from, e.to), `(c) illegal ${e.from} -> ${e.to}`).toBe(true);
        expect(e.cause).toBe(TRANSITIONS[e.from][e.to]);
      }
      expect(e.job.state).toBe(e.to);
    }
    // (c) The event log records every move, in order, each along the table.
    const moved: { id: string; from: JobState; to: JobState; reason: string | null }[] = [];
    const logged = await newEvents();
    if (logged.length > 0) logPos = logged.at(-1)!.pos;
    for (const e of logged) {
      const to = e.data.state as JobState;
      const from = (e.data.previousState ?? null) as JobState | null;
      if (e.type === 'submitted') {
        expect(lastState.has(e.key), `(c) ${e.key} submitted twice`).toBe(false);
        expect(['ready', 'scheduled', 'waiting']).toContain(to);
        reached.moves.add(`null->${to}`);
      } else if (from === null) {
        // A job inserted delayed is logged twice: `submitted`, then `scheduled`.
        expect([e.type, lastState.get(e.key)]).toEqual([to, to]);
        continue;
      } else if (from === to) {
        expect(e.type).toBe('progress');
        continue;
      } else {
        expect(from, `(c) event ${e.type} of ${e.key} from ${from}, but the job was ${lastState.get(e.key)}`).toBe(lastState.get(e.key));
        expect(isLegalTransition(from!, to), `(c) illegal ${from} -> ${to}`).toBe(true);
        expect(e.type).toBe(to === 'running' ? 'started' : to);
        reached.moves.add(`${from}->${to}`);
        moved.push({ id: e.key, from: from!, to, reason: (e.data.reason ?? null) as string | null });
      }
      lastState.set(e.key, to);
    }
    // (b) Each job where its state puts it in the dispatch index, and in no other place.
    const places = await dispatch.placesOf(ids);
    ids.forEach((id, i) => {
      const job = jobs.get(id)!;
      const expected = job.state === 'ready' ? ['ready'] : job.state === 'scheduled' || job.state === 'retrying' ? ['delayed'] : [];
      expect(places[i], `(b) ${id} is ${job.state} but the dispatch holds it in [${places[i]}]`).toEqual(expected);
    });
    for (const [id, job] of jobs) {
      expect(lastState.get(id), `(c) ${id} moved without an event`).toBe(job.state);
      if (job.state === 'running') expect(job.attempt).toBeGreaterThanOrEqual(1);
      expect(job.attempt, `(f) ${id} attempt over maxAttempts`).toBeLessThanOrEqual(job.maxAttempts);
      const final = finalJobs.get(id);
      if (final) expect(job, `(e) terminal job ${id} changed`).toEqual(final);
      else if (isTerminal(job.state)) finalJobs.set(id, job);
    }
    // (g) A dependent waits exactly while its dependencies neither doom nor release it; it was
    // released or cancelled by them only when they said so (settled dependencies stay settled
    // within a command: only a requeue reopens one, and it releases nothing).
    const verdictOf = (id: string) => {
      const d = dependenciesOf.get(id)!;
      return verdict(d.policy, d.deps.map((dep) => jobs.get(dep)!.state));
    };
    for (const [id, job] of jobs) {
      if (job.state === 'waiting') expect(verdictOf(id), `(g) ${id} still waiting`).toBe('waits');
    }
    for (const m of moved) {
      if (m.from === 'waiting' && m.to === 'ready') expect(verdictOf(m.id), `(g) ${m.id} released`).toBe('releasable');
      if (m.from === 'waiting' && m.reason === 'upstream_failed') expect(verdictOf(m.id), `(g) ${m.id} cancelled upstream`).toBe('doomed');
    }
    return jobs;
  };

  try {
    let state = await checkInvariants();
    for (const cmd of commands) {
      await step(cmd, state);
      state = await checkInvariants();
    }
  } finally {
    await engine.close();
  }
}

for (const deployment of manualDeployments({ leaseMs: LEASE_MS })) {
  const numRuns = Number(process.env.FC_RUNS ?? NUM_RUNS[deployment.name.split(' ')[0]!]!);
  describe(`job state machine under random commands: ${deployment.name}`, () => {
    afterAll(() => deployment.cleanup());
    it('keeps every job in exactly one place, moves only along the table, and ignores stale tokens', async () => {
      const reached: Reached = { moves: new Set(), cancelledFrom: new Set(), staleRejected: 0, wrongRejected: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 60, size: 'max' }), async (commands) => runScenario(await deployment.open(), commands, reached)),
        // A failing production run shrinks slowly (~0.5 s a try): report the smallest case found by then.
        { numRuns, seed: SEED, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true },
      );
      // Every edge of the transition table, and every way in.
      const expected = ['null->ready', 'null->scheduled', 'null->waiting', ...Object.entries(TRANSITIONS).flatMap(([from, tos]) => Object.keys(tos).map((to) => `${from}->${to}`))];
      const missed = expected.filter((move) => !reached.moves.has(move));
      expect(missed, 'moves of the table no run took').toEqual([]);
      expect([...reached.moves].filter((m) => !expected.includes(m)), 'moves outside the table').toEqual([]);
      // Cancel was tried in every state: the non-terminal ones cancel, the terminal ones refuse.
      expect(JOB_STATES.filter((st) => !reached.cancelledFrom.has(st)), 'states cancel was never tried in').toEqual([]);
      expect(reached.staleRejected).toBeGreaterThan(numRuns / 2);
      expect(reached.wrongRejected).toBeGreaterThan(numRuns / 2);
    }, 240_000); // embedded ~10 s, production ~30-45 s on the shared machine; the limit only stops a run that hangs
  });
}
