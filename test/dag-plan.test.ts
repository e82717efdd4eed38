// Planning one request's dependency graph (src/domain/dag.ts): refs resolved to indexes, ids of
// existing jobs kept for the store to check, and every refusal named by its field.
import { describe, expect, it } from 'vitest';
import { findCycle, planDependencies } from '../src/domain/dag.js';

const bulk = (i: number) => `/${i}`;
const messages = (inputs: unknown[], pathOf = bulk) => planDependencies(inputs, pathOf).issues.map((i) => `${i.path}: ${i.message}`);

describe('planDependencies', () => {
  it('plans nothing when no job has dependencies', () => {
    expect(planDependencies([{ type: 'a', ref: 'a' }, { dependsOn: [] }, 'junk', null], bulk)).toEqual({ plan: null, issues: [] });
  });

  it('resolves refs of the request to indexes and keeps other names as existing job ids', () => {
    const { plan, issues } = planDependencies(
      [{ ref: 'extract' }, { ref: 'transform', dependsOn: ['extract', 'job_01'] }, { dependsOn: ['transform', 'extract'], onDependencyFailure: 'continue' }, 'junk'],
      bulk,
    );
    expect(issues).toEqual([]);
    expect(plan).toEqual([
      null,
      { local: [0], existing: [{ id: 'job_01', path: '/1/dependsOn/1' }], policy: 'cancel' },
      { local: [1, 0], existing: [], policy: 'continue' },
      null,
    ]);
  });

  it('names a duplicate ref, a dependency named twice, and a start time on a dependent', () => {
    expect(
      messages([{ ref: 'a' }, { ref: 'a' }, { dependsOn: ['a', 'a', 7], runAt: '2026-01-01T00:00:00Z', delayMs: 5 }]),
    ).toEqual([
      '/1/ref: "a" is already the ref of the job at /0',
      '/2/runAt: a job with dependsOn starts when its dependencies are done: leave runAt and delayMs out',
      '/2/delayMs: a job with dependsOn starts when its dependencies are done: leave runAt and delayMs out',
      '/2/dependsOn/1: "a" is named twice',
    ]);
  });

  it('names / for the first job of a single-job path', () => {
    expect(messages([{ ref: 'a' }, { ref: 'a', dependsOn: ['x'] }], (i) => (i === 0 ? '' : `/${i}`))).toEqual(['/1/ref: "a" is already the ref of the job at /']);
  });

  it('names a cycle by its refs, at the dependsOn entry that closes it', () => {
    expect(messages([{ ref: 'a', dependsOn: ['x', 'b'] }, { ref: 'b', dependsOn: ['c'] }, { ref: 'c', dependsOn: ['a'] }])).toEqual([
      '/0/dependsOn/1: dependency cycle: a → b → c → a',
    ]);
  });

  it('names a job that waits for itself', () => {
    expect(messages([{ ref: 'self', dependsOn: ['self'] }])).toEqual(['/0/dependsOn/0: dependency cycle: self → self']);
  });
});

describe('findCycle', () => {
  const node = (...local: number[]) => ({ local, existing: [], policy: 'cancel' as const });

  it('finds none in a diamond or a deep chain', () => {
    expect(findCycle([node(1, 2), node(3), node(3), node(), null])).toBeNull();
    const chain = Array.from({ length: 100_000 }, (_, i) => (i + 1 < 100_000 ? node(i + 1) : node()));
    expect(findCycle(chain)).toBeNull();
  });

  it('returns the cycle from a job back to itself', () => {
    expect(findCycle([node(1), node(2), node(1)])).toEqual([1, 2, 1]);
    expect(findCycle([null, node(1)])).toEqual([1, 1]);
  });
});
