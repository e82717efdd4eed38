import { describe, expect, it } from 'vitest';
import { CANCELLABLE_STATES, EXPIRABLE_STATES, JOB_STATES, TERMINAL_STATES, TRANSITIONS } from '../src/domain/states.js';
import { CLAIMABLE, COMPLETABLE, DISPATCHABLE, EXPIRABLE, TERMINAL, UNSUCCESSFUL, statesFrom } from '../src/adapters/sql/state-lists.js';
import * as SQ from '../src/adapters/sqlite/queries.js';
import * as PQ from '../src/adapters/postgres/queries.js';

/** Read off the table here, independently of state-lists.ts. */
const into = (to: string) => JOB_STATES.filter((from) => (TRANSITIONS[from] as Record<string, unknown>)[to] !== undefined);
const quoted = (states: readonly string[]) => states.map((s) => `'${s}'`).join(',');

describe('SQL state lists', () => {
  it('are what the transition table says', () => {
    expect(CLAIMABLE).toEqual(into('running'));
    expect(COMPLETABLE).toEqual(into('succeeded'));
    expect(EXPIRABLE).toEqual(into('expired'));
    expect(EXPIRABLE).toEqual(EXPIRABLE_STATES);
    expect(statesFrom('cancelled')).toEqual(CANCELLABLE_STATES);
    expect(TERMINAL).toEqual(JOB_STATES.filter((s) => TERMINAL_STATES.has(s)));
    expect(UNSUCCESSFUL).toEqual(['failed', 'cancelled', 'expired']);
    expect(DISPATCHABLE).toEqual(['ready', ...JOB_STATES.filter((s) => TRANSITIONS[s].ready === 'due')]);
  });

  it('are the ones the statements of both engines are written with', () => {
    expect(SQ.FIND_EXPIRED).toContain(`(${into('expired').map((s) => `state = '${s}'`).join(' OR ')})`);
    expect(PQ.FIND_EXPIRED).toContain(`state IN (${quoted(into('expired'))})`);
    expect(SQ.CLAIM_JOBS).toContain(`state = ${quoted(into('running'))}`);
    expect(SQ.EXPIRE_READY_JOB).toContain(`state = ${quoted(into('running'))}`);
    expect(PQ.CLAIM_JOBS.match(/j\.state IS NOT DISTINCT FROM '(\w+)'/g)).toEqual(into('running').flatMap((s) => [`j.state IS NOT DISTINCT FROM '${s}'`, `j.state IS NOT DISTINCT FROM '${s}'`]));
    expect(SQ.COMPLETE_JOBS).toContain(`state = ${quoted(into('succeeded'))}`);
    expect(PQ.COMPLETE_JOBS).toContain(`j.state IS NOT DISTINCT FROM ${quoted(into('succeeded'))}`);
    expect(SQ.LOAD_DISPATCHABLE).toContain(`state IN (${quoted(DISPATCHABLE)})`);
    expect(SQ.QUEUE_FINISHED).toContain(`state IN (${quoted([...TERMINAL_STATES])})`);
    expect(PQ.QUEUE_FINISHED).toContain(`state = ANY('{${[...TERMINAL_STATES].join(',')}}'::text[])`);
  });
});
