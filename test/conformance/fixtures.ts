import { v7 as uuidv7 } from 'uuid';
import { JOB_STATES, type JobState } from '../../src/domain/states.js';
import type { NewJob, Store } from '../../src/ports/store.js';

/** A fixed instant, so expected times are plain numbers. */
export const T0 = Date.UTC(2026, 0, 1, 9, 0, 0);

/** A valid job to insert; ids are UUIDv7 generated in call order (so later jobs sort after earlier ones). */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const id = overrides.id ?? uuidv7();
  return {
    id,
    tenant: 't1',
    queue: 'default',
    type: 'email',
    payloadJson: '{}',
    priority: 5,
    labels: {},
    state: 'ready',
    runAt: T0,
    expiresAt: null,
    timeoutMs: null,
    maxAttempts: 3,
    backoff: { type: 'fixed', delayMs: 1000 },
    linkId: id,
    resubmittedFrom: null,
    createdAt: T0,
    ...overrides,
  };
}

/** Inserts one job and returns it. */
export async function insert(store: Store, overrides: Partial<NewJob> = {}): Promise<NewJob> {
  const job = newJob(overrides);
  await store.insertJobs([job]);
  return job;
}

/** Inserts a ready job and claims it with `token`; returns the running job. */
export async function running(store: Store, token: string, leaseExpiresAt = T0 + 30_000, overrides: Partial<NewJob> = {}) {
  const job = await insert(store, { ...overrides, state: 'ready' });
  const { claimed } = await store.claimJobs([{ id: job.id, leaseToken: token }], 'w1', leaseExpiresAt, T0);
  if (claimed.length !== 1) throw new Error(`setup: could not claim ${job.id}`);
  return claimed[0]!;
}

export async function stateOf(store: Store, id: string): Promise<JobState | undefined> {
  return (await store.getJob(id))?.state;
}

export const ALL_STATES: readonly JobState[] = JOB_STATES;
