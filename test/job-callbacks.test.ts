// Job callbacks end to end, on SQLite and on PostgreSQL: a job submitted with `callbackUrl` gets a
// job-scoped webhook subscription from the store's insert trigger (same transaction as the job),
// signed with the tenant's callback secret; its end is POSTed to a real local receiver.
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { WEBHOOK_CURSOR } from '../src/services/webhooks/dispatcher.js';
import type { WebhookOptions } from '../src/services/webhooks/webhooks.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { until } from './helpers/process.js';
import { PLACES, type Place } from './helpers/webhook-places.js';
import { LOCAL_RECEIVERS, startReceiver, verifyDocketSignature, type Receiver } from './helpers/webhook-receiver.js';

const silent = pino({ level: 'silent' });
const FAST: WebhookOptions = { dispatchIntervalMs: 20, pollIntervalMs: 20, policy: { backoff: { initialMs: 40, maxMs: 200 }, timeoutMs: 3000, allowPrivateNetworks: LOCAL_RECEIVERS } };
const END_EVENTS = ['job.succeeded', 'job.failed', 'job.cancelled', 'job.expired'];

for (const [name, place] of Object.entries(PLACES)) {
  describe(`job callbacks (${name})`, () => {
    let where: Place | undefined;
    let docket: Docket | undefined;
    let app: FastifyInstance | undefined;
    let worker: Worker | undefined;
    let receiver: Receiver | undefined;

    afterEach(async () => {
      await worker?.close(100);
      await app?.close();
      await docket?.stop();
      await receiver?.close();
      await where?.cleanup();
      worker = app = docket = receiver = where = undefined;
    });

    async function start() {
      where = await place();
      docket = await where.open(FAST);
      app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), webhooks: docket.webhooks!.service });
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      worker = new Worker({ transport: new LocalTransport(docket.jobs), handlers: { ok: async () => ({ ok: true }) }, logger: silent, concurrency: 1 });
      await worker.start();
      const as = async (tenant: string) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, ['submitter']) });
      return { acme: await as('acme'), globex: await as('globex') };
    }

    it('subscribes the job at submit; its end is delivered signed with the tenant\'s callback secret', async () => {
      receiver = await startReceiver();
      const { acme, globex } = await start();
      const url = `${receiver.url}/job-done?x=1`;
      const job = await acme.submit({ type: 'ok', callbackUrl: url });
      expect(job.callbackUrl).toBe(url);
      expect((await acme.get(job.id)).callbackUrl).toBe(url);
      expect((await acme.list()).jobs.find((j) => j.id === job.id)?.callbackUrl).toBe(url);

      const [got] = await receiver.waitFor(1);
      expect(got!.event).toMatchObject({ type: 'docket.job.succeeded', subject: job.id, tenant: 'acme' });
      expect(got!.event.data).not.toHaveProperty('callbackUrl');
      // The trigger made the tenant's secret with the job; reading it returns that same one.
      const { secret, tenant } = await acme.webhooks.callbackSecret();
      expect(tenant).toBe('acme');
      expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
      expect(verifyDocketSignature(secret, got!.headers['docket-signature'], got!.body)).toBe(true);
      expect((await globex.webhooks.callbackSecret()).secret).not.toBe(secret);

      const subs = await acme.webhooks.list();
      expect(subs).toEqual([
        expect.objectContaining({ scope: 'job', jobId: job.id, queue: null, url, tenant: 'acme', events: END_EVENTS, enabled: true, createdAt: job.createdAt }),
      ]);
      expect(subs[0]).not.toHaveProperty('secret');
      expect(await globex.webhooks.list()).toEqual([]);
      const log = await until('the callback delivered', async () => {
        const page = await acme.webhooks.deliveries(subs[0]!.id);
        return page.deliveries[0]?.status === 'delivered' ? page : undefined;
      });
      expect(log.deliveries.map((d) => d.eventType)).toEqual(['docket.job.succeeded']);
      // Only the end was asked for: submitted and started went nowhere. Once the webhook dispatcher
      // has read the whole log, the subscription's deliveries are all it will ever get.
      const end = await docket!.store.events.lastPosition();
      await until('the webhook dispatcher to read the whole log', async () => (((await docket!.store.events.cursor(WEBHOOK_CURSOR)) ?? 0) >= end ? true : undefined));
      expect((await acme.webhooks.deliveries(subs[0]!.id)).deliveries.map((d) => [d.eventType, d.status])).toEqual([['docket.job.succeeded', 'delivered']]);
      expect(receiver.received).toHaveLength(1);
    });

    it('a rotated secret signs the callbacks of jobs submitted afterwards; earlier jobs keep theirs', async () => {
      receiver = await startReceiver();
      const { acme } = await start();
      const first = await acme.webhooks.callbackSecret(); // made by the read: no job yet
      expect(await acme.webhooks.list()).toEqual([]);
      const held = await acme.submit({ type: 'ok', callbackUrl: receiver.url, delayMs: 60_000 });
      const rotated = await acme.webhooks.rotateCallbackSecret();
      expect(rotated.secret).not.toBe(first.secret);
      expect((await acme.webhooks.callbackSecret()).secret).toBe(rotated.secret);
      const after = await acme.submit({ type: 'ok', callbackUrl: receiver.url });

      const [done] = await receiver.waitFor(1);
      expect(done!.event).toMatchObject({ type: 'docket.job.succeeded', subject: after.id });
      expect(verifyDocketSignature(rotated.secret, done!.headers['docket-signature'], done!.body)).toBe(true);
      await acme.cancel(held.id);
      const [, cancelled] = await receiver.waitFor(2);
      expect(cancelled!.event).toMatchObject({ type: 'docket.job.cancelled', subject: held.id });
      expect(verifyDocketSignature(first.secret, cancelled!.headers['docket-signature'], cancelled!.body)).toBe(true);
      expect(verifyDocketSignature(rotated.secret, cancelled!.headers['docket-signature'], cancelled!.body)).toBe(false);
    });

    it('bulk: only the jobs with a callbackUrl get a subscription; a job without one gets none', async () => {
      receiver = await startReceiver();
      const { acme } = await start();
      const plain = await acme.submit({ type: 'ok' });
      expect(plain).not.toHaveProperty('callbackUrl');
      expect(await acme.get(plain.id)).not.toHaveProperty('callbackUrl');
      const [a, b, c] = await acme.submitBulk([
        { type: 'ok', callbackUrl: `${receiver.url}/a` },
        { type: 'ok' },
        { type: 'ok', callbackUrl: `${receiver.url}/c` },
      ]);
      expect(b).not.toHaveProperty('callbackUrl');
      const subs = await acme.webhooks.list();
      expect(subs.map((s) => [s.jobId, s.url]).sort()).toEqual([[a!.id, `${receiver.url}/a`], [c!.id, `${receiver.url}/c`]].sort());
      const got = await receiver.waitFor(2);
      expect(got.map((r) => r.event.subject).sort()).toEqual([a!.id, c!.id].sort());
    });

    it('a bad callbackUrl is a 400 naming the field, and nothing is created', async () => {
      const { acme } = await start();
      for (const bad of ['not a url', 'ftp://example.com/x', 'https://user:pw@example.com/x', `https://example.com/${'x'.repeat(2048)}`]) {
        const err = await acme.submit({ type: 'ok', callbackUrl: bad }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DocketApiError);
        expect((err as DocketApiError).status).toBe(400);
        expect((err as DocketApiError).problem?.errors?.map((e) => e.path)).toEqual(['/callbackUrl']);
      }
      const bulk = await acme.submitBulk([{ type: 'ok', callbackUrl: 'https://example.com/ok' }, { type: 'ok', callbackUrl: 'mailto:a@b.c' }]).catch((e: unknown) => e);
      expect((bulk as DocketApiError).status).toBe(400);
      expect((bulk as DocketApiError).problem?.errors?.map((e) => e.path)).toEqual(['/jobs/1/callbackUrl']);
      expect((await acme.list()).jobs).toEqual([]);
      expect(await acme.webhooks.list()).toEqual([]);
    });
  });
}
