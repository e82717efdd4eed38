import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Job } from '../src/domain/job.js';
import { EXPIRABLE_STATES, TRANSITIONS, isLegalTransition, isTerminal, type JobState } from '../src/domain/states.js';
import type { LifecycleEvent } from '../src/services/lifecycle.js';
import { manualEngine } from './helpers/engine.js';

const LEASE_MS = 10_000;
const NUM_RUNS = 500;
/**
 * One seed by default, so that every run of the suite checks the same 500 scenarios and the reach
 * check below (every edge of the table) cannot fail by chance; FC_SEED=<n> explores others.
 */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20_261_207;
const WORKERS = ['w1', 'w2', 'w3'];
type TokenOp = 'complete' | 'fail' | 'progress' | 'release' | 'heartbeat';

const jobSpec = fc.record({
  priority: fc.integer({ min: 1, max: 10 }),
  delayMs: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: null }),
  expiresInMs: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: null }),
  maxAttempts: fc.integer({ min: 1, max: 3 }),
  backoffMs: fc.integer({ min: 0, max: 3000 }),
});
const pick = fc.nat({ max: 1000 });
const tokenOp = fc.constantFrom<TokenOp>('complete', 'fail', 'progress', 'release', 'heartbeat');
const command = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('submit' as const), jobs: fc.array(jobSpec, { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), max: fc.integer({ min: 1, max: 5 }), worker: fc.nat({ max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick, retryable: fc.integer({ min: 0, max: 3 }).map((n) => n > 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('progress' as const), pick, percent: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stale' as const), op: tokenOp, pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrong' as const), op: tokenOp, pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick }) },
  // Recovery parking and dead letters: a transient failure parks a job under the condition (and opens
  // its gate: claimed jobs of the same queue and type park at once), the recovery loop's release and
  // abandon, an operator closing the condition, and a dead letter requeued.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('park' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('releaseParked' as const), max: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('abandon' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requeue' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leaseLoss' as const), advanceMs: fc.integer({ min: LEASE_MS / 2, max: 2 * LEASE_MS }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), advanceMs: fc.integer({ min: 0, max: 3000 }) }) },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

/** What the runs reached, so a generator that never gets anywhere fails the suite. */
const reached = { moves: new Set<string>(), staleRejected: 0, wrongRejected: 0 };

/** Priority first, then due time, then submission order (UUIDv7 ids sort by creation). */
const before = (a: Job, b: Job) => a.priority - b.priority || a.runAt - b.runAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

async function runScenario(commands: Command[]): Promise<void> {
  const { docket, clock, dispatch, service } = await manualEngine({ leaseMs: LEASE_MS });
  const ids: string[] = [];
  const tokens: { id: string; token: string }[] = [];
  const lastState = new Map<string, JobState>();
  const finalJobs = new Map<string, Job>();
  const events: LifecycleEvent[] = [];
  /** Whether the condition is open: its gate parks claimed jobs that it did not release itself. */
  let gateOpen = false;
  const CONDITION = 'svc:down';
  service.transitions.lifecycle.on((e) => events.push(e));
  let seenEvents = 0;

  const snapshot = async () => {
    const jobs = new Map<string, Job>();
    for (const id of ids) {
      const job = await service.queries.get(id);
      expect(job, `(a) job ${id} lost`).toBeDefined();
      jobs.set(id, job!);
    }
    return jobs;
  };
  const choose = <T>(items: T[], n: number): T | undefined => (items.length === 0 ? undefined : items[n % items.length]);
  const runningJobs = (jobs: Map<string, Job>) => [...jobs.values()].filter((j) => j.state === 'running');

  const step = async (cmd: Command, was: Map<string, Job>) => {
    const now = () => clock.now();
    switch (cmd.kind) {
      case 'submit': {
        const inputs = cmd.jobs.map((s) => ({
          type: 'work',
          priority: s.priority,
          maxAttempts: s.maxAttempts,
          backoff: { type: 'fixed', delayMs: s.backoffMs },
          ...(s.delayMs !== null ? { delayMs: s.delayMs } : {}),
          ...(s.expiresInMs !== null ? { expiresAt: new Date(now() + (s.delayMs ?? 0) + s.expiresInMs).toISOString() } : {}),
        }));
        const jobs = await service.submitter.submit(inputs, { tenant: 't1' });
        jobs.forEach((j, i) => expect(j.state).toBe(cmd.jobs[i]!.delayMs !== null ? 'scheduled' : 'ready'));
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
        expect(claimed.length).toBeLessThanOrEqual(Math.min(cmd.max, passable.length));
        expect(claimed.length + expiredNow.length + gatedNow.length).toBeGreaterThanOrEqual(Math.min(cmd.max, ready.length));
        if (passable.length > 0) expect(claimed.length, 'claim answered nothing while live jobs were ready').toBeGreaterThan(0);
        for (const j of expiredNow) expect(j.expiresAt).toBeLessThanOrEqual(now());
        const stillReady = [...after.values()].filter((j) => j.state === 'ready');
        for (const c of claimed) {
          expect(was.get(c.id)!.state).toBe('ready');
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
          expect((await service.queries.get(job.id))!.leaseExpiresAt).toBe(expired ? job.leaseExpiresAt : now() + LEASE_MS);
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
        const got = (await service.queries.get(job.id))!;
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
        expect(await service.queries.get(id), `(d) ${cmd.kind} token changed job ${id}`).toEqual(was.get(id));
        reached[cmd.kind === 'stale' ? 'staleRejected' : 'wrongRejected']++;
        return;
      }
      case 'cancel': {
        // Cancel in every state: a state is picked first (among those some job is in), then a job in it,
        // so the rarer states (retrying, blocked) are cancelled as often as the common ones.
        const states = [...new Set([...was.values()].map((j) => j.state))];
        const state = choose(states, cmd.pick);
        const id = state && choose([...was.values()].filter((j) => j.state === state).map((j) => j.id), Math.floor(cmd.pick / 7));
        if (!id) return;
        const res = await service.cancels.cancel(id);
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
        expect(await service.queries.get(job.id)).toMatchObject({ state: 'blocked', condition: CONDITION, attempt: job.attempt - 1, stateReason: 'parked' });
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
        expect(await service.queries.get(job.id)).toMatchObject({ state: 'failed', stateReason: `condition:${CONDITION}` });
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
        const target = choose([...was.values()].filter((j) => j.expiresAt !== null && !isTerminal(j.state)), cmd.pick);
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

  const checkInvariants = async () => {
    const jobs = await snapshot(); // (a) no job lost
    for (; seenEvents < events.length; seenEvents++) {
      const e = events[seenEvents]!;
      const last = lastState.get(e.job.id) ?? null;
      expect(e.from, `(c) event from for ${e.job.id}`).toBe(last);
      if (e.from === null) expect(['ready', 'scheduled']).toContain(e.to);
      else {
        expect(isLegalTransition(e.from, e.to), `(c) illegal ${e.from} -> ${e.to}`).toBe(true);
        expect(e.cause).toBe(TRANSITIONS[e.from][e.to]);
      }
      expect(e.job.state).toBe(e.to);
      reached.moves.add(`${e.from}->${e.to}`);
      lastState.set(e.job.id, e.to);
    }
    for (const [id, job] of jobs) {
      expect(lastState.get(id), `(c) ${id} moved without an event`).toBe(job.state);
      const where = dispatch.locate(id);
      const expected = job.state === 'ready' ? 'ready' : job.state === 'scheduled' || job.state === 'retrying' ? 'delayed' : undefined;
      expect(where, `(b) ${id} is ${job.state} but dispatch has it ${String(where)}`).toBe(expected);
      if (job.state === 'running') expect(job.attempt).toBeGreaterThanOrEqual(1);
      expect(job.attempt, `(f) ${id} attempt over maxAttempts`).toBeLessThanOrEqual(job.maxAttempts);
      const final = finalJobs.get(id);
      if (final) expect(job, `(e) terminal job ${id} changed`).toEqual(final);
      else if (isTerminal(job.state)) finalJobs.set(id, job);
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
    await docket.stop();
  }
}

describe('job state machine under random commands', () => {
  it('keeps every job in exactly one place, moves only along the table, and ignores stale tokens', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 60, size: 'max' }), (commands) => runScenario(commands)),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    // Every edge of the transition table but waiting's (jobs with dependencies: test/conformance/store-dependencies.ts).
    const expected = [
      'null->ready',
      'null->scheduled',
      ...Object.entries(TRANSITIONS).flatMap(([from, tos]) => (from === 'waiting' ? [] : Object.keys(tos).map((to) => `${from}->${to}`))),
    ];
    for (const move of expected) expect(reached.moves, `no run reached ${move}`).toContain(move);
    expect(reached.staleRejected).toBeGreaterThan(NUM_RUNS / 2);
    expect(reached.wrongRejected).toBeGreaterThan(NUM_RUNS / 2);
  }, 180_000); // ~6 s on a quiet machine; the limit only stops a run that hangs
});
