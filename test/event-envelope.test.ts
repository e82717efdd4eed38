import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../src/ports/event-bus.js';
import type { LogEvent } from '../src/ports/event-log.js';
import { encodedOf, envelopeOf } from '../src/services/events/envelope.js';

const jobEvent: LogEvent = {
  pos: 41,
  topic: 'job-events',
  type: 'succeeded',
  at: Date.UTC(2026, 11, 6, 10, 0, 0, 7),
  key: '0193a1b2-c3d4-7e5f-8a9b-000000000001',
  tenant: 'acme',
  linkId: '0193a1b2-c3d4-7e5f-8a9b-000000000000',
  data: {
    jobId: '0193a1b2-c3d4-7e5f-8a9b-000000000001', queue: 'emails', jobType: 'send', state: 'succeeded', previousState: 'running',
    attempt: 1, maxAttempts: 3, priority: 5, reason: null, workerId: 'w-1', condition: null, runAt: 1, error: null, progress: null,
  },
};

describe('encodedOf: the relay writes envelopes field by field', () => {
  const cases: [string, LogEvent][] = [
    ['a job event', jobEvent],
    ['no link, and text that JSON must escape', { ...jobEvent, linkId: null, tenant: 'te"n\\ant\u2028é', key: 'k\n1', type: 'fa"iled', data: { ...jobEvent.data, error: 'boom "quoted"\n', progress: { pct: 50, note: 'ünï' } } }],
    ['a dependency event', { ...jobEvent, topic: 'dependency-events', type: 'released' }],
    ['an event of another topic, with a private field', { ...jobEvent, pos: 9_007_199_254_740_991, topic: 'worker-events', type: 'registered', data: { workerId: 'w-2', callbackUrl: 'https://secret.example/cb', nested: [1, { a: null }] } }],
  ];
  for (const [name, e] of cases) {
    it(`writes the same text as encoding its envelope: ${name}`, () => {
      const encoded = encodedOf(e, 'urn:docket:"test"', 'p.');
      expect(encoded).toEqual({ topic: `p.${e.topic}`, key: e.key, value: encodeEnvelope(envelopeOf(e, 'urn:docket:"test"')) });
      expect(JSON.parse(encoded.value)).toEqual(envelopeOf(e, 'urn:docket:"test"'));
    });
  }

  it('never publishes private fields', () => {
    const e = cases[3]![1];
    expect(encodedOf(e, 's', '').value).not.toContain('callbackUrl');
    expect(e.data).toHaveProperty('callbackUrl'); // the logged event itself is left as it was
  });
});
