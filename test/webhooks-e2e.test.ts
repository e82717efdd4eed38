// Webhooks end to end, on SQLite and on PostgreSQL: jobs run by an in-process worker, their
// lifecycle events matched to subscriptions made over the HTTP API, signed deliveries POSTed to a
// real local receiver, retries, disabling, and deliveries that outlive a restart of the engine.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketClient } from '../src/sdk/client.js';
import { PermanentError } from '../src/sdk/errors.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { WEBHOOK_CURSOR } from '../src/services/webhooks/dispatcher.js';
import type { WebhookDisabled } from '../src/services/webhooks/sender.js';
import type { WebhookOptions } from '../src/services/webhooks/webhooks.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { until } from './helpers/process.js';
import { PLACES, type Place } from './helpers/webhook-places.js';
import { LOCAL_RECEIVERS, startReceiver, verifyDocketSignature, type Receiver } from './helpers/webhook-receiver.js';

const silent = pino({ level: 'silent' });
const handlers = {
  ok: async () => ({ ok: true }),
  boom: async () => {
    throw new PermanentError('card refused');
  },
};

/** Short waits instead of the production ones (10 s, doubling), so retries happen within the test. */
const FAST: WebhookOptions = {
  dispatchIntervalMs: 20,
  pollIntervalMs: 20,
  policy: { backoff: { initialMs: 40, maxMs: 200 }, timeoutMs: 3000, maxAttempts: 10, disableAfterFailures: 20, allowPrivateNetworks: LOCAL_RECEIVERS },
};

for (const [name, place] of Object.entries(PLACES)) {
  describe(`webhooks end to end (${name})`, () => {
    let where: Place | undefined;
    let docket: Docket | undefined;
    let app: FastifyInstance | undefined;
    let worker: Worker | undefined;
    let receiver: Receiver | undefined;

    /** Stops what runs (worker, API, engine), keeping the data. */
    async function shutdown(): Promise<void> {
      await worker?.close(100);
      await app?.close();
      await docket?.stop();
      worker = app = docket = undefined;
    }

    afterEach(async () => {
      await shutdown();
      await receiver?.close();
      await where?.cleanup();
      where = receiver = undefined;
    });

    /** Opens (or reopens) the engine with its API and an in-process worker; returns clients of two tenants. */
    async function start(webhooks: WebhookOptions = FAST) {
      where ??= await place();
      docket = await where.open(webhooks);
      app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), webhooks: docket.webhooks!.service });
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers, logger: silent, concurrency: 1 });
      await worker.start();
      const as = async (tenant: string) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, ['submitter']) });
      return { acme: await as('acme'), globex: await as('globex') };
    }

    it('delivers signed events of the chosen types, in order, and logs each delivery', async () => {
      receiver = await startReceiver();
      const { acme, globex } = await start();
      const sub = await acme.webhooks.create({ url: receiver.url, events: ['job.started', 'job.succeeded', 'job.failed'], description: 'all outcomes' });
      expect(sub).toMatchObject({ scope: 'tenant', enabled: true, events: ['job.started', 'job.succeeded', 'job.failed'], secret: expect.stringMatching(/^whsec_/) });
      // The secret is shown once: reads do not carry it.
      expect(await acme.webhooks.get(sub.id)).not.toHaveProperty('secret');
      // Subscriptions that must receive nothing here: another queue, another tenant.
      await acme.webhooks.create({ url: receiver.url.replace('/hooks/', '/other-queue/'), queue: 'elsewhere' });
      await globex.webhooks.create({ url: receiver.url.replace('/hooks/', '/globex/') });

      const ok = await acme.submit({ type: 'ok' });
      const boom = await acme.submit({ type: 'boom' });
      const got = await receiver.waitFor(4);

      // Per job, in order; the two jobs may interleave (the worker can claim the second before the
      // first's completion is committed), and deliveries follow the log's order (ids increase).
      const of = (id: string) => got.filter((r) => r.event.subject === id).map((r) => r.event.type);
      expect(of(ok.id)).toEqual(['docket.job.started', 'docket.job.succeeded']);
      expect(of(boom.id)).toEqual(['docket.job.started', 'docket.job.failed']);
      expect(got).toHaveLength(4);
      const ids = got.map((r) => Number(r.event.id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      for (const r of got) {
        expect(r.headers['content-type']).toBe('application/json');
        expect(r.headers['docket-event-id']).toBe(r.event.id);
        expect(r.headers['docket-event-type']).toBe(r.event.type);
        expect(r.headers['docket-delivery-attempt']).toBe('1');
        expect(r.headers['docket-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        expect(verifyDocketSignature(sub.secret, r.headers['docket-signature'], r.body)).toBe(true);
        expect(verifyDocketSignature('whsec_wrong', r.headers['docket-signature'], r.body)).toBe(false);
        expect(r.event.tenant).toBe('acme');
      }
      expect(got[3]!.event.data).toMatchObject({ jobId: boom.id, state: 'failed', error: 'card refused' });

      // The sender records an attempt once the answer is in: a moment after the receiver saw it.
      const log = await until('every delivery settled', async () => {
        const page = await acme.webhooks.deliveries(sub.id);
        return page.deliveries.every((d) => d.status !== 'pending') ? page : undefined;
      });
      expect(log.deliveries.map((d) => [d.eventId, d.status, d.attempts, d.lastStatusCode])).toEqual(
        [...got].reverse().map((r) => [r.event.id, 'delivered', 1, 200]),
      );
      expect(log.deliveries[0]!.id).toBe(got[3]!.headers['docket-delivery-id']);
      expect(log.deliveries[0]!.history).toEqual([{ attempt: 1, at: expect.any(String), statusCode: 200, error: null, durationMs: expect.any(Number) }]);
      // Nothing went anywhere else. Once the webhook dispatcher has read the whole log and every
      // subscription's deliveries are done, nothing more can come in.
      const end = await docket!.store.events.lastPosition();
      await until('the webhook dispatcher to read the whole log', async () => (((await docket!.store.events.cursor(WEBHOOK_CURSOR)) ?? 0) >= end ? true : undefined));
      const others = [...(await acme.webhooks.list()).filter((s) => s.id !== sub.id), ...(await globex.webhooks.list())];
      expect(others).toHaveLength(2);
      for (const other of others) expect((await (other.tenant === 'acme' ? acme : globex).webhooks.deliveries(other.id)).deliveries, other.url).toEqual([]);
      expect((await acme.webhooks.deliveries(sub.id)).deliveries.every((d) => d.status === 'delivered')).toBe(true);
      expect(receiver.received.every((r) => r.headers['docket-signature'] && !r.body.includes('globex'))).toBe(true);
      expect(receiver.received).toHaveLength(4);
    });

    it('retries a delivery the receiver failed (500, then 200) with the same event id; the log shows both attempts', async () => {
      receiver = await startReceiver((_, n) => (n === 0 ? 500 : 200));
      const { acme } = await start();
      const sub = await acme.webhooks.create({ url: receiver.url, events: ['job.succeeded'] });
      const job = await acme.submit({ type: 'ok' });
      const [first, second] = await receiver.waitFor(2);

      expect(first!.event).toMatchObject({ type: 'docket.job.succeeded', subject: job.id });
      expect(second!.body).toBe(first!.body);
      expect(second!.headers['docket-event-id']).toBe(first!.headers['docket-event-id']);
      expect(second!.headers['docket-delivery-id']).toBe(first!.headers['docket-delivery-id']);
      expect([first!.headers['docket-delivery-attempt'], second!.headers['docket-delivery-attempt']]).toEqual(['1', '2']);
      expect(verifyDocketSignature(sub.secret, second!.headers['docket-signature'], second!.body)).toBe(true);

      const delivered = await until('the delivery delivered', async () => {
        const [d] = (await acme.webhooks.deliveries(sub.id)).deliveries;
        return d?.status === 'delivered' ? d : undefined;
      });
      expect(delivered).toMatchObject({ eventId: first!.event.id, attempts: 2, lastStatusCode: 200, nextAttemptAt: null, finishedAt: expect.any(String) });
      expect(delivered.history.map((a) => a.statusCode)).toEqual([500, 200]);
      expect((await acme.webhooks.get(sub.id)).consecutiveFailures).toBe(0);
    });

    it('disables a subscription after the configured run of failures; enabling it delivers what was pending', async () => {
      receiver = await startReceiver(() => 503);
      const disabled: WebhookDisabled[] = [];
      const { acme } = await start({ ...FAST, policy: { ...FAST.policy, maxAttempts: 2, disableAfterFailures: 3 }, onDisabled: (e) => disabled.push(e) });
      const sub = await acme.webhooks.create({ url: receiver.url, events: ['job.succeeded'] });
      const a = await acme.submit({ type: 'ok' });
      await receiver.waitFor(2); // a's delivery: tried twice, given up
      const b = await acme.submit({ type: 'ok' });
      await receiver.waitFor(3); // b's first try: the third failure in a row

      const off = await until('the subscription disabled', async () => {
        const w = await acme.webhooks.get(sub.id);
        return w.enabled ? undefined : w;
      });
      expect(off).toMatchObject({ enabled: false, consecutiveFailures: 3, disabledReason: '3 failed attempts in a row', disabledAt: expect.any(String) });
      await until('the disable event', async () => (disabled.length > 0 ? true : undefined));
      expect(disabled).toEqual([{ subscriptionId: sub.id, url: receiver.url, reason: '3 failed attempts in a row', consecutiveFailures: 3 }]);
      const log = await acme.webhooks.deliveries(sub.id);
      expect(log.deliveries.map((d) => [d.status, d.attempts, d.lastStatusCode])).toEqual([
        ['pending', 1, 503],
        ['failed', 2, 503],
      ]);
      expect(receiver.received.map((r) => r.event.subject)).toEqual([a.id, a.id, b.id]);

      // Disabled: no more attempts. The receiver recovers and its owner enables it again.
      receiver.respond(() => 200);
      const on = await acme.webhooks.enable(sub.id);
      expect(on).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledReason: null });
      const [again] = (await receiver.waitFor(4)).slice(3);
      expect(again!.event.subject).toBe(b.id);
      expect(again!.headers['docket-delivery-attempt']).toBe('2');
    });

    it('keeps pending deliveries across a restart of the engine, and sends them after it', async () => {
      receiver = await startReceiver(() => 503);
      const { acme } = await start();
      const sub = await acme.webhooks.create({ url: receiver.url, events: ['job.succeeded', 'job.failed'] });
      const jobs = [await acme.submit({ type: 'ok' }), await acme.submit({ type: 'boom' })];
      await receiver.waitFor(1); // the first delivery failed once; both wait
      await shutdown();

      receiver.respond(() => 200);
      const { acme: again } = await start();
      const log = await until('both deliveries delivered', async () => {
        const page = await again.webhooks.deliveries(sub.id);
        return page.deliveries.length === 2 && page.deliveries.every((d) => d.status === 'delivered') ? page.deliveries : undefined;
      });
      // What the receiver accepted, once per delivery: a request aborted by the shutdown may have
      // reached it too, and is sent again (at-least-once, same delivery and event id).
      const accepted = [...new Map(receiver.received.filter((r) => r.answered === 200).map((r) => [r.headers['docket-delivery-id'], r] as const)).values()];
      // The worker runs both jobs at once: which of them ends (and is delivered) first is a race.
      expect(accepted.map((r) => [r.event.type, r.event.subject]).sort()).toEqual(
        [
          ['docket.job.failed', jobs[1]!.id],
          ['docket.job.succeeded', jobs[0]!.id],
        ].sort(),
      );
      expect(accepted.every((r) => verifyDocketSignature(sub.secret, r.headers['docket-signature'], r.body))).toBe(true);
      // The delivery tried before the restart is the one delivered after it: same event and delivery id.
      const first = receiver.received[0]!;
      expect(first.answered).toBe(503);
      expect(accepted[0]!.headers['docket-event-id']).toBe(first.headers['docket-event-id']);
      expect(accepted[0]!.headers['docket-delivery-id']).toBe(first.headers['docket-delivery-id']);
      expect(log.map((d) => d.eventId)).toEqual([accepted[1]!.event.id, accepted[0]!.event.id]);
    });
  });
}
