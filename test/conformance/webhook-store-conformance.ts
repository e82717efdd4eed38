import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports/store.js';
import type { AttemptRecord, NewDelivery, NewWebhook, WebhookStore } from '../../src/ports/webhook-store.js';

export interface OpenedWebhookStore {
  /** The job store the webhook store lives beside (migrations, event cursors). */
  store: Store;
  webhooks: WebhookStore;
  cleanup(): Promise<void>;
}

const T0 = 1_700_000_000_000;
let n = 0;
const id = (prefix: string) => `${prefix}-${String(++n).padStart(6, '0')}`;

function newWebhook(over: Partial<NewWebhook> = {}): NewWebhook {
  return { id: id('wh'), tenant: 'acme', url: 'https://example.com/hook', scope: { kind: 'tenant' }, events: [], description: null, secret: 'whsec_test', createdAt: T0, ...over };
}

function delivery(subscriptionId: string, eventPos: number, over: Partial<NewDelivery> = {}): NewDelivery {
  return { id: id('dl'), subscriptionId, eventPos, eventType: 'docket.job.succeeded', body: `{"id":"${eventPos}"}`, createdAt: T0, ...over };
}

/** A failed (500) or succeeded (200) attempt `attempt` at `at`. */
function attempt(d: { id: string; subscriptionId: string }, n: number, ok: boolean, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    deliveryId: d.id,
    subscriptionId: d.subscriptionId,
    attempt: n,
    at: T0 + n * 1000,
    statusCode: ok ? 200 : 500,
    error: null,
    durationMs: 12,
    status: ok ? 'delivered' : 'pending',
    nextAttemptAt: ok ? null : T0 + n * 1000 + 5000,
    failure: !ok,
    disableAfterFailures: 3,
    disableNow: null,
    ...over,
  };
}

/**
 * The WebhookStore port's contract, written only against the port (and the job store's event
 * cursors, which the dispatch moves in the same transaction). `open` returns fresh, empty stores;
 * the suite migrates them.
 */
export function describeWebhookStoreConformance(name: string, open: () => Promise<OpenedWebhookStore>): void {
  describe(`WebhookStore conformance: ${name}`, () => {
    let opened: OpenedWebhookStore | undefined;
    const ws = () => opened!.webhooks;
    beforeEach(async () => {
      opened = await open();
      await opened.store.migrate();
    });
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    it('creates, reads and lists subscriptions with their scope, filtered', async () => {
      const all = newWebhook({ events: ['job.succeeded', 'job.*'], description: 'every job' });
      const queue = newWebhook({ scope: { kind: 'queue', queue: 'mail' }, createdAt: T0 + 1 });
      const job = newWebhook({ scope: { kind: 'job', jobId: 'job-1' }, createdAt: T0 + 2 });
      const other = newWebhook({ tenant: 'globex', createdAt: T0 + 3 });
      for (const w of [all, queue, job, other]) await ws().create(w);

      expect(await ws().get(all.id)).toEqual({ ...all, enabled: true, disabledAt: null, disabledReason: null, consecutiveFailures: 0, updatedAt: T0 });
      expect((await ws().get(queue.id))!.scope).toEqual({ kind: 'queue', queue: 'mail' });
      expect((await ws().get(job.id))!.scope).toEqual({ kind: 'job', jobId: 'job-1' });
      expect(await ws().get('nope')).toBeUndefined();
      expect((await ws().list()).map((w) => w.id)).toEqual([all.id, queue.id, job.id, other.id]);
      expect((await ws().list({ tenant: 'acme' })).map((w) => w.id)).toEqual([all.id, queue.id, job.id]);
      expect((await ws().list({ jobId: 'job-1' })).map((w) => w.id)).toEqual([job.id]);
      await ws().setEnabled(queue.id, false, T0 + 10, 'test');
      expect((await ws().list({ enabled: true, tenant: 'acme' })).map((w) => w.id)).toEqual([all.id, job.id]);
      expect((await ws().list({ enabled: false })).map((w) => w.id)).toEqual([queue.id]);
    });

    it('updates the given fields only; clears the description with null', async () => {
      const w = newWebhook({ description: 'first' });
      await ws().create(w);
      const changed = await ws().update(w.id, { url: 'http://127.0.0.1:9/x', events: ['job.failed'] }, T0 + 5);
      expect(changed).toMatchObject({ url: 'http://127.0.0.1:9/x', events: ['job.failed'], description: 'first', secret: w.secret, updatedAt: T0 + 5 });
      expect(await ws().update(w.id, { description: null, secret: 'whsec_new' }, T0 + 6)).toMatchObject({ url: 'http://127.0.0.1:9/x', description: null, secret: 'whsec_new' });
      expect(await ws().update('nope', { url: 'http://x/' }, T0)).toBeUndefined();
    });

    it('dispatch writes deliveries and moves the event cursor together; a repeat writes no duplicate', async () => {
      const w = newWebhook();
      await ws().create(w);
      expect(await ws().dispatch('webhooks', 7, [delivery(w.id, 3), delivery(w.id, 7)])).toBe(2);
      expect(await opened!.store.events.cursor('webhooks')).toBe(7);
      // The same events again (a crash before the cursor moved elsewhere): nothing new.
      expect(await ws().dispatch('webhooks', 9, [delivery(w.id, 7), delivery(w.id, 9)])).toBe(1);
      expect(await opened!.store.events.cursor('webhooks')).toBe(9);
      expect(await ws().dispatch('webhooks', 12, [])).toBe(0);
      expect(await opened!.store.events.cursor('webhooks')).toBe(12);
      const log = await ws().deliveries(w.id, { limit: 10 });
      expect(log.map((d) => [d.eventPos, d.status, d.attempts, d.nextAttemptAt])).toEqual([
        [9, 'pending', 0, T0],
        [7, 'pending', 0, T0],
        [3, 'pending', 0, T0],
      ]);
    });

    it('due gives each enabled subscription its oldest pending delivery, when due, soonest first', async () => {
      const a = newWebhook();
      const b = newWebhook({ createdAt: T0 + 1 });
      const off = newWebhook({ createdAt: T0 + 2 });
      for (const w of [a, b, off]) await ws().create(w);
      const a5 = delivery(a.id, 5);
      await ws().dispatch('webhooks', 9, [delivery(a.id, 8), a5, delivery(b.id, 6, { createdAt: T0 - 10 }), delivery(off.id, 1)]);
      await ws().setEnabled(off.id, false, T0);

      const due = await ws().due(T0, 10);
      expect(due.map((d) => [d.subscriptionId, d.eventPos])).toEqual([
        [b.id, 6],
        [a.id, 5],
      ]);
      expect(due[1]).toMatchObject({ id: a5.id, body: '{"id":"5"}', attempts: 0, url: a.url, secret: a.secret, eventType: 'docket.job.succeeded' });
      expect((await ws().due(T0, 1)).map((d) => d.eventPos)).toEqual([6]);
      expect((await ws().due(T0, 10, [b.id])).map((d) => d.eventPos)).toEqual([5]);
      expect(await ws().due(T0 - 20, 10)).toEqual([]);

      // The head failed and waits: the next one of that subscription waits behind it (order kept).
      await ws().recordAttempt(attempt(due[1]!, 1, false));
      expect((await ws().due(T0 + 1000, 10, [b.id])).map((d) => d.eventPos)).toEqual([]);
      expect((await ws().due(T0 + 6000, 10, [b.id])).map((d) => [d.eventPos, d.attempts])).toEqual([[5, 1]]);
      await ws().recordAttempt(attempt(due[1]!, 2, true));
      expect((await ws().due(T0 + 6000, 10, [b.id])).map((d) => d.eventPos)).toEqual([8]);
    });

    it('records attempts with their history; a success resets the run of failures', async () => {
      const w = newWebhook();
      await ws().create(w);
      const d = delivery(w.id, 1);
      await ws().dispatch('webhooks', 1, [d]);
      const first = await ws().recordAttempt(attempt({ id: d.id, subscriptionId: w.id }, 1, false, { statusCode: null, error: 'connect ECONNREFUSED' }));
      expect(first).toEqual({ applied: true, disabled: false, consecutiveFailures: 1 });
      // A second sender recording the same attempt number (a leader change) is not applied.
      expect(await ws().recordAttempt(attempt({ id: d.id, subscriptionId: w.id }, 1, false))).toMatchObject({ applied: false });
      expect(await ws().recordAttempt(attempt({ id: d.id, subscriptionId: w.id }, 2, true))).toEqual({ applied: true, disabled: false, consecutiveFailures: 0 });
      expect((await ws().get(w.id))!.consecutiveFailures).toBe(0);

      const [log] = await ws().deliveries(w.id, { limit: 10 });
      expect(log).toMatchObject({ id: d.id, eventPos: 1, status: 'delivered', attempts: 2, nextAttemptAt: null, lastStatusCode: 200, lastError: null, lastDurationMs: 12, finishedAt: T0 + 2000 });
      expect(log!.history).toEqual([
        { attempt: 1, at: T0 + 1000, statusCode: null, error: 'connect ECONNREFUSED', durationMs: 12 },
        { attempt: 2, at: T0 + 2000, statusCode: 200, error: null, durationMs: 12 },
      ]);
      expect(await ws().due(T0 + 10_000, 10)).toEqual([]);
      // A finished delivery takes no more attempts.
      expect(await ws().recordAttempt(attempt({ id: d.id, subscriptionId: w.id }, 3, true))).toMatchObject({ applied: false });
    });

    it('disables a subscription after the configured run of failures across deliveries, or at once when told', async () => {
      const w = newWebhook();
      await ws().create(w);
      const d1 = delivery(w.id, 1);
      const d2 = delivery(w.id, 2);
      await ws().dispatch('webhooks', 2, [d1, d2]);
      await ws().recordAttempt(attempt(d1, 1, false));
      await ws().recordAttempt(attempt(d1, 2, false, { status: 'failed', nextAttemptAt: null }));
      const third = await ws().recordAttempt(attempt(d2, 1, false));
      expect(third).toEqual({ applied: true, disabled: true, consecutiveFailures: 3 });
      expect(await ws().get(w.id)).toMatchObject({ enabled: false, disabledAt: T0 + 1000, disabledReason: '3 failed attempts in a row', consecutiveFailures: 3 });
      expect(await ws().due(T0 + 100_000, 10)).toEqual([]);
      const log = await ws().deliveries(w.id, { limit: 10 });
      expect(log.map((d) => [d.eventPos, d.status])).toEqual([
        [2, 'pending'],
        [1, 'failed'],
      ]);
      expect(await ws().deliveries(w.id, { limit: 10, status: 'failed' })).toHaveLength(1);
      expect((await ws().deliveries(w.id, { limit: 10, beforePos: 2 })).map((d) => d.eventPos)).toEqual([1]);

      // Enabling starts the run over and makes what is pending due now.
      const enabled = await ws().setEnabled(w.id, true, T0 + 50_000);
      expect(enabled).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null, consecutiveFailures: 0, updatedAt: T0 + 50_000 });
      expect((await ws().due(T0 + 50_000, 10)).map((d) => [d.eventPos, d.attempts])).toEqual([[2, 1]]);

      const gone = await ws().recordAttempt(attempt(d2, 2, false, { statusCode: 410, disableNow: 'the receiver answered 410 Gone' }));
      expect(gone).toMatchObject({ applied: true, disabled: true, consecutiveFailures: 1 });
      expect(await ws().get(w.id)).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });
      // Disabling an already disabled one keeps the first reason.
      expect(await ws().setEnabled(w.id, false, T0 + 60_000, 'owner')).toMatchObject({ disabledReason: 'the receiver answered 410 Gone' });
    });

    it('deletes a subscription with its deliveries; prunes finished deliveries past retention', async () => {
      const a = newWebhook();
      const b = newWebhook();
      await ws().create(a);
      await ws().create(b);
      const [a1, a2, b1] = [delivery(a.id, 1), delivery(a.id, 2), delivery(b.id, 1)];
      await ws().dispatch('webhooks', 2, [a1, a2, b1]);
      await ws().recordAttempt(attempt(a1, 1, true));
      await ws().recordAttempt(attempt(b1, 1, true));
      expect(await ws().delete(b.id)).toBe(true);
      expect(await ws().delete(b.id)).toBe(false);
      expect(await ws().get(b.id)).toBeUndefined();
      expect(await ws().deliveries(b.id, { limit: 10 })).toEqual([]);

      expect(await ws().pruneDeliveries(T0 + 1000, 10)).toBe(0);
      expect(await ws().pruneDeliveries(T0 + 1001, 10)).toBe(1);
      expect((await ws().deliveries(a.id, { limit: 10 })).map((d) => [d.eventPos, d.status])).toEqual([[2, 'pending']]);
    });
  });
}
