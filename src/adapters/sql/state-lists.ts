import { JOB_STATES, TRANSITIONS, isTerminal, type JobState, type TransitionCause } from '../../domain/states.js';

/**
 * The state lists of both engines' SQL, read off the transition table (src/domain/states.ts), so
 * that the table is the one place a legal move is written: a claim applies to the states that may
 * move to `running`, an expiry to those that may move to `expired`, and so on.
 */

/** Every state with a legal move to `to` (by `cause`, when given), in JOB_STATES order. */
export function statesFrom(to: JobState, cause?: TransitionCause): JobState[] {
  return JOB_STATES.filter((from) => {
    const c = TRANSITIONS[from][to];
    return c !== undefined && (cause === undefined || c === cause);
  });
}

/** States as a SQL list body: `'a','b'`. Only JobState values get here, never user input. */
export function sqlList(states: readonly JobState[]): string {
  return states.map((s) => `'${s}'`).join(',');
}

/**
 * States as a parenthesized OR of equalities: `(state = 'a' OR state = 'b')`. For SQLite's partial
 * indexes and the statements that use them: an index WHERE written `state IN (...)` costs every
 * insert the IN list's lookup (migrations/0015_expiry_index.sql), and SQLite uses a partial index
 * only for a statement whose WHERE has the index's term as written.
 */
export function sqlAnyOf(column: string, states: readonly JobState[]): string {
  return `(${states.map((s) => `${column} = '${s}'`).join(' OR ')})`;
}

/**
 * The single state of `states` as a SQL literal, for statements written for one source state (the
 * claim's and completion's guards, whose plans depend on that form). Throws at load when the table
 * gives several, so a change of the table cannot leave such a statement behind unnoticed.
 */
export function sqlState(states: readonly JobState[], what: string): string {
  if (states.length !== 1) throw new Error(`${what}: written for one source state, the transition table gives ${states.join(', ')}`);
  return `'${states[0]}'`;
}

/** ready -> running. */
export const CLAIMABLE = statesFrom('running', 'claimed');
/** running -> succeeded. */
export const COMPLETABLE = statesFrom('succeeded', 'completed');
/** Not yet started -> expired. */
export const EXPIRABLE = statesFrom('expired', 'expire');
/** What the dispatch index holds: ready jobs, and the ones that become ready at a due time (delayed, retrying). */
export const DISPATCHABLE: readonly JobState[] = [...new Set<JobState>([...statesFrom('running', 'claimed'), ...statesFrom('ready', 'due')])];
/** Finished: no move leaves them but a resubmit or requeue. */
export const TERMINAL: readonly JobState[] = JOB_STATES.filter(isTerminal);
/** Finished without success: a dependency in one of these failed its dependents. */
export const UNSUCCESSFUL: readonly JobState[] = TERMINAL.filter((s) => s !== 'succeeded');
