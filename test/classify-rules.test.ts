// The failure classification rules of the configuration file (docs/recovery.md): what a worker's
// error means for its job. The first matching rule decides; a transient outcome names the
// condition the job parks under, built from the failure, the job and the message pattern's groups.
import { describe, expect, it } from 'vitest';
import { classify, compileRules, type ClassifyRule, type ReportedFailure } from '../src/domain/recovery/classify.js';

const job = { queue: 'billing', type: 'charge' };
const outcomeOf = (failure: ReportedFailure, rules: ClassifyRule[]) => classify(failure, job, compileRules(rules));

describe('matching', () => {
  it('a rule matches by code, by error name, by message pattern; every given field must fit', () => {
    const rules: ClassifyRule[] = [
      { match: { code: 'EBADCARD' }, outcome: 'permanent' },
      { match: { name: 'TypeError' }, outcome: 'permanent' },
      { match: { code: 'ECONNREFUSED', name: 'FetchError' }, outcome: 'transient', condition: 'net' },
      { match: { message: '^quota exceeded' }, outcome: 'retryable' },
    ];
    expect(outcomeOf({ message: 'declined', code: 'EBADCARD' }, rules)).toEqual({ kind: 'permanent' });
    expect(outcomeOf({ message: 'x is undefined', name: 'TypeError' }, rules)).toEqual({ kind: 'permanent' });
    expect(outcomeOf({ message: 'refused', code: 'ECONNREFUSED', name: 'FetchError' }, rules)).toEqual({ kind: 'transient', condition: 'net' });
    // the code fits the third rule but the name does not: no rule, the job's own retry policy
    expect(outcomeOf({ message: 'refused', code: 'ECONNREFUSED', name: 'Error' }, rules)).toEqual({ kind: 'retryable' });
    expect(outcomeOf({ message: 'quota exceeded for today' }, rules)).toEqual({ kind: 'retryable' });
    // a pattern that does not fit the message: the rule is passed over
    expect(outcomeOf({ message: 'daily quota exceeded', name: 'RangeError' }, rules)).toEqual({ kind: 'retryable' });
  });

  it('the first matching rule decides', () => {
    const rules: ClassifyRule[] = [
      { match: { message: 'timeout' }, outcome: 'transient', condition: 'slow' },
      { match: { message: 'timeout' }, outcome: 'permanent' },
    ];
    expect(outcomeOf({ message: 'read timeout' }, rules)).toEqual({ kind: 'transient', condition: 'slow' });
  });

  it('what the worker said wins over the rules: retryable false is permanent, a condition parks the job', () => {
    const rules: ClassifyRule[] = [{ match: { message: '.' }, outcome: 'retryable' }];
    expect(outcomeOf({ message: 'bad', retryable: false, condition: 'service:x' }, rules)).toEqual({ kind: 'permanent' });
    expect(outcomeOf({ message: 'down', condition: 'service:x' }, rules)).toEqual({ kind: 'transient', condition: 'service:x' });
  });

  it('a non-transient outcome carries no condition, even when the rule names one', () => {
    expect(outcomeOf({ message: 'm', code: 'E1' }, [{ match: { code: 'E1' }, outcome: 'permanent', condition: 'ignored:{code}' }])).toEqual({ kind: 'permanent' });
  });
});

describe('the condition of a transient outcome', () => {
  it('{code}, {name}, {queue} and {type} are replaced by the failure\'s and the job\'s values', () => {
    const rules: ClassifyRule[] = [{ match: { code: 'E503' }, outcome: 'transient', condition: '{queue}/{type}/{name}/{code}' }];
    expect(outcomeOf({ message: 'm', code: 'E503', name: 'HttpError' }, rules)).toEqual({ kind: 'transient', condition: 'billing/charge/HttpError/E503' });
  });

  it('a placeholder the failure has no value for reads "unknown"', () => {
    const rules: ClassifyRule[] = [{ match: { message: 'down' }, outcome: 'transient', condition: 'svc:{name}:{code}' }];
    expect(outcomeOf({ message: 'down' }, rules)).toEqual({ kind: 'transient', condition: 'svc:unknown:unknown' });
  });

  it('without a condition in the rule: error:{code}', () => {
    const rules: ClassifyRule[] = [{ match: { code: 'ETIMEDOUT' }, outcome: 'transient' }];
    expect(outcomeOf({ message: 'm', code: 'ETIMEDOUT' }, rules)).toEqual({ kind: 'transient', condition: 'error:ETIMEDOUT' });
  });

  it('$1..$9 are the groups of the message pattern; a group that did not take part reads as empty', () => {
    const rules: ClassifyRule[] = [{ match: { message: '^(\\S+) unavailable( again)?' }, outcome: 'transient', condition: 'service:$1$2|$3' }];
    expect(outcomeOf({ message: 'payments-api unavailable' }, rules)).toEqual({ kind: 'transient', condition: 'service:payments-api|' });
    expect(outcomeOf({ message: 'ledger unavailable again' }, rules)).toEqual({ kind: 'transient', condition: 'service:ledger again|' });
  });

  it('a rule without a message pattern has no groups: $1 reads as empty', () => {
    const rules: ClassifyRule[] = [{ match: { code: 'E1' }, outcome: 'transient', condition: 'c:$1' }];
    expect(outcomeOf({ message: 'm', code: 'E1' }, rules)).toEqual({ kind: 'transient', condition: 'c:' });
  });
});
