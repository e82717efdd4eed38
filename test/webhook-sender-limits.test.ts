// The webhook sender's limits, each asserted from both sides, on both stores (SQLite in memory; a
// PostgreSQL schema): at most `concurrency` requests in flight and exactly that many while enough
// are due (concurrency 1 and 4); one request per subscription at a time; a failed delivery tried
// again not a millisecond before its backoff and at it. The sender is not started: the test runs
// it (runOnce) on a manual clock, and a real local receiver holds each request until told.
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { PostgresWebhookStore } from '../src/adapters/postgres/postgres-webhook-store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { SqliteWebhookStore } from '../src/adapters/sqlite/sqlite-webhook-store.js';
import { DEFAULT_WEBHOOK_POLICY, type WebhookPolicy } from '../src/domain/webhooks/policy.js';
import { AddressGuard } from '../src/net/address-guard.js';
import type { WebhookStore } from '../src/ports/webhook-store.js';
import { WebhookSender } from '../src/services/webhooks/sender.js';
import { openTestSchema } from './helpers/postgres.js';
import { until } from './helpers/process.js';
import { LOCAL_RECEIVERS, startReceiver, type Receiver } from './helpers/webhook-receiver.js';

const T0 = Date.UTC(2026, 5, 1);

const STORES: Record<string, () => Promise<{ webhooks: WebhookStore; close(): Promise<void> }>> = {
  sqlite: async () => {
    const store = new SqliteStore({ path: ':memory:' });
    await store.migrate();
    return { webhooks: new SqliteWebhookStore(store.db), close: () => store.close() };
  },
  postgres: async () => {
    const { connectionString, schema, drop } = await openTestSchema();
    const store = new PostgresStore({ connectionString, schema, max: 3 });
    await store.migrate();
    return {
      webhooks: new PostgresWebhookStore(store.pool),
      async close() {
        await store.close();
        await drop();
      },
    };
  },
};

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
});

/** A receiver that holds every request until the test answers it, and counts what it holds. */
async function holdingReceiver() {
  const held: ((status: number) => void)[] = [];
  let holding = 0;
  let peak = 0;
  const receiver: Receiver = await startReceiver(
    () =>
      new Promise<number>((resolve) => {
        peak = Math.max(peak, ++holding);
        held.push((status) => {
          holding--;
          resolve(status);
        });
      }),
  );
  closing.push(() => receiver.close());
  return {
    receiver,
    /** Answers the oldest request still held. */
    answer: (status = 200) => held.shift()!(status),
    get holding() {
      return holding;
    },
    get peak() {
      return peak;
    },
  };
}

let seq = 0;

/** `subscriptions` subscriptions to `url`, each with `each` deliveries due at T0. */
async function subscribe(webhooks: WebhookStore, url: string, subscriptions: number, each = 1): Promise<void> {
  for (let s = 0; s < subscriptions; s++) {
    const id = `wh-${++seq}`;
    await webhooks.create({ id, tenant: 'acme', url, scope: { kind: 'tenant' }, events: [], description: null, secret: 'whsec_test', createdAt: T0 });
    const deliveries = Array.from({ length: each }, () => {
      const pos = ++seq;
      return { id: `dl-${pos}`, subscriptionId: id, eventPos: pos, eventType: 'docket.job.succeeded', body: JSON.stringify({ id: String(pos), type: 'docket.job.succeeded' }), createdAt: T0 };
    });
    await webhooks.dispatch('webhooks', seq, deliveries);
  }
}

for (const [storeName, openStore] of Object.entries(STORES)) {
  describe(`webhook sender limits (${storeName})`, () => {
    async function sender(policy: Partial<WebhookPolicy>) {
      const { webhooks, close } = await openStore();
      closing.push(close);
      const clock = new ManualClock(T0);
      const errors: unknown[] = [];
      const full = { ...DEFAULT_WEBHOOK_POLICY, allowPrivateNetworks: LOCAL_RECEIVERS, ...policy };
      const s = new WebhookSender(webhooks, clock, { policy: full, guard: new AddressGuard(full.allowPrivateNetworks), random: () => 0.5 }, (e) => errors.push(e));
      closing.push(async () => {
        await s.stop();
        expect(errors).toEqual([]);
      });
      return { sender: s, webhooks, clock };
    }

    for (const concurrency of [1, 4]) {
      it(`keeps exactly ${concurrency} request(s) in flight while more are due, never more, and fills a freed slot at once`, async () => {
        const { sender: s, webhooks } = await sender({ concurrency });
        const r = await holdingReceiver();
        const total = concurrency + 3;
        await subscribe(webhooks, r.receiver.url, total);

        expect(await s.runOnce()).toBe(concurrency);
        await r.receiver.waitFor(concurrency);
        expect(await s.runOnce()).toBe(0); // every slot taken
        let sent = concurrency;
        while (sent < total) {
          r.answer(200);
          // The slot frees once the attempt is recorded: then exactly one more starts.
          expect(await until('a freed slot used', async () => (await s.runOnce()) || undefined)).toBe(1);
          sent++;
          await r.receiver.waitFor(sent);
          expect(r.holding).toBe(concurrency);
        }
        for (let i = 0; i < concurrency; i++) r.answer(200);
        await s.idle();
        expect(r.receiver.received).toHaveLength(total);
        expect(r.peak).toBe(concurrency);
        expect(await s.runOnce()).toBe(0);
      });
    }

    it('sends one request per subscription at a time, its deliveries in order, whatever the free concurrency', async () => {
      const { sender: s, webhooks } = await sender({ concurrency: 8 });
      const r = await holdingReceiver();
      await subscribe(webhooks, r.receiver.url, 1, 3);
      for (let n = 1; n <= 3; n++) {
        expect(await s.runOnce()).toBe(1);
        await r.receiver.waitFor(n);
        expect(await s.runOnce()).toBe(0);
        r.answer(200);
        await s.idle();
      }
      expect(r.receiver.received.map((x) => x.event.id)).toEqual([...r.receiver.received.map((x) => x.event.id)].sort((a, b) => Number(a) - Number(b)));
      expect(r.peak).toBe(1);
    });

    for (const initialMs of [1000, 60_000]) {
      it(`tries a failed delivery again exactly when its backoff (initial ${initialMs} ms) says, not a millisecond before`, async () => {
        const { sender: s, webhooks, clock } = await sender({ concurrency: 2, backoff: { initialMs, maxMs: 10 * initialMs } });
        const r = await holdingReceiver();
        await subscribe(webhooks, r.receiver.url, 1);
        // Equal jitter with the draw at 0.5: three quarters of the doubled delay (src/domain/webhooks/backoff.ts).
        for (const [attempt, delayMs] of [[1, 0.75 * initialMs], [2, 1.5 * initialMs]] as const) {
          expect(await s.runOnce()).toBe(1);
          await r.receiver.waitFor(attempt);
          r.answer(503);
          await s.idle();
          clock.advance(delayMs - 1);
          expect(await s.runOnce(), `attempt ${attempt + 1} a millisecond early`).toBe(0);
          clock.advance(1);
        }
        expect(await s.runOnce()).toBe(1);
        await r.receiver.waitFor(3);
        r.answer(200);
        await s.idle();
        expect(r.receiver.received.map((x) => x.headers['docket-delivery-attempt'])).toEqual(['1', '2', '3']);
      });
    }
  });
}
