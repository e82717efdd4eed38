/**
 * The job state machine: the one table of legal moves. Every write to a job goes through a
 * guarded update (`WHERE id = ? AND state = ?`, plus the lease token for running jobs), and the
 * service checks the move against this table before it writes. See docs/states.md for the diagram.
 */
export const JOB_STATES = [
  'scheduled',
  'waiting',
  'ready',
  'running',
  'retrying',
  'blocked',
  'succeeded',
  'failed',
  'cancelled',
  'expired',
] as const;

export type JobState = (typeof JOB_STATES)[number];

/** Why a job moves: each legal move has a name, used in events and in typed results. */
export type TransitionCause =
  | 'due' // scheduled|retrying -> ready: runAt or backoff reached
  | 'released' // waiting -> ready (dependencies done), blocked -> ready (condition cleared)
  | 'claimed' // ready -> running
  | 'completed' // running -> succeeded
  | 'retry' // running -> retrying
  | 'park' // running -> blocked
  | 'exhausted' // running -> failed (no attempts left, permanent error, lease lost on last attempt)
  | 'lease_lost' // running -> ready (worker died, attempts left)
  | 'expire' // not yet started -> expired
  | 'cancel' // any non-terminal -> cancelled
  | 'abandoned' // blocked -> failed: parked past the condition's maximum park time, or failed by an operator
  | 'requeued'; // failed -> ready: a dead letter requeued with a fresh attempt budget

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'expired']);

/** States a job may be expired from: it has not started (running jobs finish or fail instead). */
export const EXPIRABLE_STATES: readonly JobState[] = ['scheduled', 'waiting', 'ready', 'retrying', 'blocked'];

/** States a job may be cancelled from: every non-terminal one. */
export const CANCELLABLE_STATES: readonly JobState[] = JOB_STATES.filter((s) => !TERMINAL_STATES.has(s));

/** States whose jobs a client may resubmit as a new job. */
export const RESUBMITTABLE_STATES: ReadonlySet<JobState> = new Set(['failed', 'cancelled', 'expired']);

/** from -> to -> cause. Anything not in this table is illegal. */
export const TRANSITIONS: Readonly<Record<JobState, Readonly<Partial<Record<JobState, TransitionCause>>>>> = {
  scheduled: { ready: 'due', expired: 'expire', cancelled: 'cancel' },
  waiting: { ready: 'released', expired: 'expire', cancelled: 'cancel' },
  ready: { running: 'claimed', expired: 'expire', cancelled: 'cancel' },
  running: {
    succeeded: 'completed',
    retrying: 'retry',
    blocked: 'park',
    failed: 'exhausted',
    ready: 'lease_lost',
    cancelled: 'cancel',
  },
  retrying: { ready: 'due', expired: 'expire', cancelled: 'cancel' },
  blocked: { ready: 'released', failed: 'abandoned', expired: 'expire', cancelled: 'cancel' },
  succeeded: {},
  failed: { ready: 'requeued' },
  cancelled: {},
  expired: {},
};

export function isLegalTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from][to] !== undefined;
}

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}
