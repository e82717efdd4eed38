import type { Job } from './job.js';
import type { JobState } from './states.js';

/**
 * The result of a guarded write. A move that does not apply is a value, not an exception: the
 * caller decides whether it matters (a late completion from a worker whose lease ran out is
 * expected and rejected quietly).
 */
export type TransitionResult =
  | { ok: true; job: Job; from: JobState }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'wrong_state'; state: JobState }
  | { ok: false; reason: 'lease_mismatch'; state: JobState }
  | { ok: false; reason: 'illegal_transition'; state: JobState };

export type TransitionFailure = Extract<TransitionResult, { ok: false }>;

export function describeFailure(id: string, f: TransitionFailure): string {
  switch (f.reason) {
    case 'not_found':
      return `job ${id} not found`;
    case 'wrong_state':
      return `job ${id} is ${f.state}`;
    case 'lease_mismatch':
      return `job ${id}: the lease token does not match (the lease ran out and the job was given to another worker, or it was cancelled)`;
    case 'illegal_transition':
      return `job ${id} is ${f.state}; that move is not allowed from there`;
  }
}
