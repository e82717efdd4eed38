// The pure rules of webhooks: signatures (checked by an independent receiver-side implementation,
// as docs/webhooks.md tells receivers to write it), matching, backoff, and what an attempt means.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../src/domain/webhooks/backoff.js';
import { SubscriptionIndex, matches, normalizeEventTypes, type MatchableSubscription } from '../src/domain/webhooks/matching.js';
import { DEFAULT_WEBHOOK_POLICY, decideAttempt } from '../src/domain/webhooks/policy.js';
import { newSecret, signatureHeader, verifySignature } from '../src/domain/webhooks/signing.js';

/** The receiver's check, written from docs/webhooks.md alone (not from src/domain/webhooks/signing.ts). */
function receiverVerifies(secret: string, header: string, rawBody: string, toleranceSeconds = 300, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=')));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(String(parts.v1 ?? ''), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('webhook signatures', () => {
  const body = JSON.stringify({ id: '42', type: 'docket.job.succeeded', data: { jobId: 'j1', note: 'ünïcode ✓' } });
  const now = Math.floor(Date.now() / 1000);

  it('signs t.body with HMAC-SHA256; a receiver following the docs accepts it', () => {
    const secret = newSecret();
    const header = signatureHeader(secret, now, body);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(receiverVerifies(secret, header, body)).toBe(true);
    expect(verifySignature(secret, header, body, now)).toEqual({ ok: true, timestamp: now });
  });

  it('is refused for another secret, a changed body, or a timestamp outside the replay window', () => {
    const secret = newSecret();
    const header = signatureHeader(secret, now, body);
    expect(receiverVerifies(newSecret(), header, body)).toBe(false);
    expect(receiverVerifies(secret, header, body.replace('j1', 'j2'))).toBe(false);
    const old = signatureHeader(secret, now - 301, body);
    expect(receiverVerifies(secret, old, body)).toBe(false);
    expect(verifySignature(secret, old, body, now)).toMatchObject({ ok: false, reason: expect.stringContaining('tolerance') });
    // The timestamp is signed: moving it forward breaks the signature.
    const forged = old.replace(/^t=\d+/, `t=${now}`);
    expect(receiverVerifies(secret, forged, body)).toBe(false);
    expect(verifySignature(secret, 'v1=abc', body, now)).toMatchObject({ ok: false });
  });

  it('makes secrets that differ and say what they are', () => {
    const a = newSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newSecret()).not.toBe(a);
  });
});

describe('webhook matching', () => {
  const event = (over: Partial<{ topic: string; key: string; tenant: string; type: string; data: Record<string, unknown> }> = {}) => ({
    topic: 'job-events',
    key: 'j1',
    tenant: 'acme',
    type: 'succeeded',
    data: { jobId: 'j1', queue: 'mail' },
    ...over,
  });
  const sub = (over: Partial<MatchableSubscription> = {}): MatchableSubscription => ({ tenant: 'acme', scope: { kind: 'tenant' }, events: [], ...over });

  it('normalizes event types and names the bad one', () => {
    expect(normalizeEventTypes(['job.succeeded', 'docket.job.failed', 'job.succeeded'])).toEqual({ events: ['job.succeeded', 'job.failed'], issues: [] });
    expect(normalizeEventTypes(['*', 'job.failed']).events).toEqual([]);
    expect(normalizeEventTypes(['job.*']).events).toEqual(['job.*']);
    const bad = normalizeEventTypes(['job.failed', 'job.success', 'nope.*']);
    expect(bad.issues.map((i) => i.path)).toEqual(['/events/1', '/events/2']);
    expect(bad.issues[0]!.message).toContain('"job.success" is not an event type');
  });

  it('matches by tenant, scope and type', () => {
    expect(matches(sub(), event())).toBe(true);
    expect(matches(sub({ tenant: 'globex' }), event())).toBe(false);
    expect(matches(sub({ events: ['job.failed'] }), event())).toBe(false);
    expect(matches(sub({ events: ['job.failed', 'job.succeeded'] }), event())).toBe(true);
    expect(matches(sub({ events: ['job.*'] }), event())).toBe(true);
    expect(matches(sub({ events: ['dependency.*'] }), event())).toBe(false);
    expect(matches(sub({ events: ['dependency.released'] }), event({ topic: 'dependency-events', type: 'released' }))).toBe(true);
    expect(matches(sub({ scope: { kind: 'queue', queue: 'mail' } }), event())).toBe(true);
    expect(matches(sub({ scope: { kind: 'queue', queue: 'sms' } }), event())).toBe(false);
    expect(matches(sub({ scope: { kind: 'job', jobId: 'j1' } }), event())).toBe(true);
    expect(matches(sub({ scope: { kind: 'job', jobId: 'j2' } }), event())).toBe(false);
  });

  it('indexes subscriptions so an event meets only its tenant, queue and job ones', () => {
    const subs = [
      { ...sub(), id: 'all' },
      { ...sub({ scope: { kind: 'queue', queue: 'mail' } }), id: 'mail' },
      { ...sub({ scope: { kind: 'queue', queue: 'sms' } }), id: 'sms' },
      { ...sub({ scope: { kind: 'job', jobId: 'j1' }, events: ['job.failed'] }), id: 'j1-failed' },
      { ...sub({ scope: { kind: 'job', jobId: 'j1' } }), id: 'j1' },
      { ...sub({ tenant: 'globex' }), id: 'other' },
    ];
    const index = new SubscriptionIndex(subs);
    expect(index.match(event()).map((s) => s.id)).toEqual(['all', 'mail', 'j1']);
    expect(index.match(event({ tenant: 'globex' })).map((s) => s.id)).toEqual(['other']);
    expect(index.match(event({ tenant: 'initech' }))).toEqual([]);
  });
});

describe('webhook retries', () => {
  const backoff = { initialMs: 1000, maxMs: 60_000 };

  it('backs off exponentially with jitter in the upper half, capped', () => {
    expect(retryDelayMs(1, backoff, () => 0)).toBe(500);
    expect(retryDelayMs(1, backoff, () => 0.999999)).toBe(1000);
    expect(retryDelayMs(3, backoff, () => 0)).toBe(2000);
    expect(retryDelayMs(3, backoff, () => 0.5)).toBe(3000);
    expect(retryDelayMs(30, backoff, () => 0.999999)).toBe(60_000);
    expect(retryDelayMs(1000, backoff, () => 0)).toBe(30_000);
  });

  it('decides: 2xx delivered, 410 disables at once, other answers and errors retry until maxAttempts', () => {
    const policy = { ...DEFAULT_WEBHOOK_POLICY, maxAttempts: 3, backoff };
    const r = (statusCode: number | null, error: string | null = null) => ({ statusCode, error, durationMs: 5 });
    expect(decideAttempt(r(204), 1, policy, 0, () => 0)).toEqual({ status: 'delivered', failure: false, nextAttemptAt: null, disableNow: null });
    expect(decideAttempt(r(500), 1, policy, 10_000, () => 0)).toEqual({ status: 'pending', failure: true, nextAttemptAt: 10_500, disableNow: null });
    expect(decideAttempt(r(null, 'no answer within 10000 ms'), 2, policy, 0, () => 0)).toMatchObject({ status: 'pending', failure: true, nextAttemptAt: 1000 });
    expect(decideAttempt(r(302), 3, policy, 0, () => 0)).toEqual({ status: 'failed', failure: true, nextAttemptAt: null, disableNow: null });
    expect(decideAttempt(r(410), 1, policy, 0, () => 0)).toMatchObject({ status: 'pending', failure: true, disableNow: 'the receiver answered 410 Gone' });
  });
});
