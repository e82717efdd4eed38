// One job input as a client sends it (src/domain/job-input.ts): the defaults, and the messages
// that name the field that is wrong (with the batch index prefix), as HTTP, SDK and CLI show them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from '../src/domain/backoff.js';
import { PayloadTooLargeError, ValidationError } from '../src/domain/errors.js';
import { toJobSpec } from '../src/domain/job-input.js';

const NOW = Date.parse('2026-05-01T08:00:00Z');

function issues(input: unknown, basePath = ''): string[] {
  try {
    toJobSpec(input, NOW, undefined, basePath);
  } catch (err) {
    if (err instanceof ValidationError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('no ValidationError thrown');
}

describe('toJobSpec: defaults and fields', () => {
  it('applies every default to a bare job', () => {
    expect(toJobSpec({ type: 'email.send' }, NOW)).toEqual({
      type: 'email.send',
      queue: 'default',
      payload: {},
      payloadJson: '{}',
      priority: 5,
      labels: {},
      runAt: NOW,
      expiresAt: null,
      timeoutMs: null,
      maxAttempts: 3,
      backoff: DEFAULT_BACKOFF,
      linkId: null,
      dedupKey: null,
      dedupTtlSeconds: null,
      callbackUrl: null,
    });
  });

  it('keeps every field given, and normalizes the callback URL', () => {
    const spec = toJobSpec(
      {
        type: 'email.send',
        queue: 'mail',
        payload: { to: 'a@example.com' },
        priority: 1,
        labels: { team: 'growth' },
        runAt: '2026-05-01T10:00:00+02:00',
        expiresAt: '2026-05-01T09:00:00Z',
        timeoutMs: 1000,
        maxAttempts: 7,
        backoff: { type: 'fixed', delayMs: 500 },
        linkId: 'req-1',
        dedupKey: 'welcome:a',
        dedupTtlSeconds: 60,
        callbackUrl: 'HTTPS://Example.com/hooks/../docket',
      },
      NOW,
    );
    expect(spec).toMatchObject({
      queue: 'mail',
      payloadJson: '{"to":"a@example.com"}',
      priority: 1,
      labels: { team: 'growth' },
      runAt: NOW,
      expiresAt: NOW + 3_600_000,
      timeoutMs: 1000,
      maxAttempts: 7,
      backoff: { type: 'fixed', delayMs: 500 },
      linkId: 'req-1',
      dedupKey: 'welcome:a',
      dedupTtlSeconds: 60,
      callbackUrl: 'https://example.com/docket',
    });
  });

  it('starts delayMs after now', () => {
    expect(toJobSpec({ type: 't', delayMs: 2500 }, NOW).runAt).toBe(NOW + 2500);
  });

  it('takes a multi-step job\'s type from its first step, and stores the steps as the payload', () => {
    const spec = toJobSpec({ steps: [{ type: 'fetch', payload: { url: 'u' } }, { type: 'parse' }] }, NOW);
    expect(spec.type).toBe('fetch');
    expect(spec.payload).toEqual({ $steps: [{ type: 'fetch', payload: { url: 'u' } }, { type: 'parse', payload: {} }] });
    expect(toJobSpec({ type: 'pipeline', steps: [{ type: 'fetch' }] }, NOW).type).toBe('pipeline');
  });
});

describe('toJobSpec: errors name the field', () => {
  it('refuses what is not an object', () => {
    for (const input of [null, [], 'job', 3]) expect(issues(input)).toEqual([': a job must be a JSON object']);
  });

  it('names a missing type, unknown fields and bad names, under the batch prefix', () => {
    expect(issues({ queue: 'no spaces', colour: 'red' }, '/jobs/3').sort()).toEqual(
      [
        '/jobs/3/type: required (or give templateId)',
        '/jobs/3/colour: unknown field',
        '/jobs/3/queue: "no spaces" is not a valid name (letters, digits and _ . : -, up to 128, starting with a letter or digit)',
      ].sort(),
    );
    expect(issues({ steps: [{ payload: {} }] })).toEqual(['/type: required (or give templateId)', '/steps/0/type: required']);
  });

  it('explains a bad time, and a range with the value given', () => {
    expect(issues({ type: 't', runAt: '2026-05-01 10:00' })).toEqual([
      '/runAt: "2026-05-01 10:00" is not an ISO 8601 date-time with a time zone, e.g. 2026-01-31T09:00:00Z',
    ]);
    expect(issues({ type: 't', priority: 11 })).toEqual(['/priority: Expected integer to be less or equal to 10 (got 11)']);
  });

  it('reports a bad backoff once, whichever variant it missed', () => {
    expect(issues({ type: 't', backoff: { type: 'linear', delayMs: 1 } })).toHaveLength(1);
  });

  it('refuses runAt with delayMs, an expiry not after the start, and a TTL without a key', () => {
    expect(issues({ type: 't', runAt: '2026-05-02T00:00:00Z', delayMs: 5, expiresAt: '2026-05-02T00:00:00Z', dedupTtlSeconds: 5 })).toEqual([
      '/delayMs: give runAt or delayMs, not both',
      "/dedupTtlSeconds: give dedupKey with it (a rule's key has the rule's ttlSeconds)",
      '/expiresAt: must be later than the time the job may start (runAt or now)',
    ]);
    expect(issues({ type: 't', expiresAt: '2026-05-01T07:00:00Z' })).toEqual(['/expiresAt: must be later than the time the job may start (runAt or now)']);
  });

  it('refuses a callback URL that is not absolute, not http(s), or carries credentials', () => {
    expect(issues({ type: 't', callbackUrl: '/hooks' })).toEqual(['/callbackUrl: "/hooks" is not an absolute URL, e.g. https://example.com/hooks/docket']);
    expect(issues({ type: 't', callbackUrl: 'ftp://example.com/x' })).toEqual(['/callbackUrl: must be an http or https URL (got ftp:)']);
    expect(issues({ type: 't', callbackUrl: 'https://user:pw@example.com/x' })).toEqual([
      '/callbackUrl: must not carry credentials (user:password@): verify callbacks by their signature instead',
    ]);
    expect(issues({ type: 't', callbackUrl: 'https://user@example.com/x' })).toHaveLength(1);
  });

  it('measures the callback URL as it will be stored: percent-encoding can take it over 2048', () => {
    const raw = `https://example.com/${' '.repeat(1000)}x`;
    expect(raw.length).toBeLessThanOrEqual(2048);
    expect(issues({ type: 't', callbackUrl: raw })).toEqual(['/callbackUrl: at most 2048 characters']);
  });

  it('keeps payload and steps apart', () => {
    expect(issues({ type: 't', steps: [{ type: 'a' }], payload: { x: 1 } })).toEqual(['/payload: give each step its payload (steps[i].payload), not the job']);
    expect(issues({ type: 't', payload: { $steps: [] } })).toEqual(['/payload/$steps: reserved for multi-step jobs: give steps instead']);
  });

  it('refuses a payload that is not JSON (an SDK caller can pass a function)', () => {
    expect(issues({ type: 't', payload: () => 1 })).toEqual(['/payload: must be a JSON value']);
  });

  it('refuses a payload over the limit with its size', () => {
    try {
      toJobSpec({ type: 't', payload: 'x'.repeat(20) }, NOW, { maxPayloadBytes: 10 }, '/jobs/1');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect(err).toMatchObject({ path: '/jobs/1/payload', size: 22, limit: 10 });
    }
  });
});
