// The /v1/webhooks routes over real HTTP: validation naming the field, roles, tenants, the secret
// shown once and rotated, PATCH, enable, delete, the ping, and the delivery log's pages. On both
// deployments (embedded; PostgreSQL + Redis).
import { expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { NO_ANSWER } from '../src/services/webhooks/post.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';
import { LOCAL_RECEIVERS, startReceiver, verifyDocketSignature, type Receiver } from './helpers/webhook-receiver.js';

const engines = both({ webhooks: { dispatchIntervalMs: 20, pollIntervalMs: 20, policy: { allowPrivateNetworks: LOCAL_RECEIVERS } } });
let docket: Docket | undefined;
let base = '';

async function start() {
  const started = await engines.start({}, (d) => ({ webhooks: d.webhooks!.service }));
  docket = started.docket;
  base = started.base;
  const as = async (tenant: string, role: Parameters<typeof tokenFor>[1][number]) => new DocketClient({ baseUrl: base, token: await tokenFor(tenant, [role]) });
  return { acme: await as('acme', 'submitter'), globex: await as('globex', 'submitter'), admin: await as('ops', 'admin'), viewer: await as('acme', 'viewer'), worker: await as('acme', 'worker') };
}

const problem = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a problem'); }, (e: DocketApiError) => e);

engines.onBoth('/v1/webhooks', () => {
  it('refuses bad input with a 400 naming the field', async () => {
    const { acme } = await start();
    const cases: [unknown, string, RegExp][] = [
      [{ url: 'ftp://example.com/x' }, '/url', /http or https/],
      [{ url: 'not a url' }, '/url', /not an absolute URL/],
      [{ url: 'https://user:pw@example.com/x' }, '/url', /credentials/],
      [{}, '/url', /required/],
      [{ url: 'https://example.com/x', events: ['job.succeeded', 'job.success'] }, '/events/1', /"job.success" is not an event type/],
      [{ url: 'https://example.com/x', queue: 'mail', jobId: 'j1' }, '/jobId', /not both/],
      [{ url: 'https://example.com/x', queue: 'bad queue' }, '/queue', /not a valid name/],
      [{ url: 'https://example.com/x', jobId: 'no-such-job' }, '/jobId', /no job no-such-job of tenant acme/],
      [{ url: 'https://example.com/x', secret: 'mine' }, '/secret', /unknown field/],
    ];
    for (const [body, path, message] of cases) {
      const e = await problem(acme.request('POST', '/v1/webhooks', body));
      expect(e.status, JSON.stringify(body)).toBe(400);
      expect(e.problem?.errors?.find((i) => i.path === path)?.message, JSON.stringify(e.problem)).toMatch(message);
    }
    const created = await acme.webhooks.create({ url: 'https://example.com/x' });
    const bad = await problem(acme.webhooks.update(created.id, { url: 'mailto:ops@example.com' }));
    expect(bad).toMatchObject({ status: 400, problem: { errors: [{ path: '/url' }] } });
    expect(await problem(acme.webhooks.update(created.id, {}))).toMatchObject({ status: 400 });
  });

  it('keeps tenants apart, lets submitters and admins manage, others not; shows the secret only on create and rotate', async () => {
    const { acme, globex, admin, viewer, worker } = await start();
    const [job] = await docket!.jobs.submitter.submit([{ type: 'x' }], { tenant: 'acme' });
    const mine = await acme.webhooks.create({ url: 'https://example.com/acme', jobId: job!.id, events: ['docket.job.succeeded', 'job.failed'] });
    expect(mine).toMatchObject({ tenant: 'acme', scope: 'job', jobId: job!.id, queue: null, events: ['job.succeeded', 'job.failed'], enabled: true, consecutiveFailures: 0 });
    const theirs = await globex.webhooks.create({ url: 'https://example.com/globex', queue: 'mail' });
    expect(theirs).toMatchObject({ scope: 'queue', queue: 'mail' });
    // Another tenant's job cannot be subscribed to.
    expect(await problem(globex.webhooks.create({ url: 'https://example.com/g', jobId: job!.id }))).toMatchObject({ status: 400 });

    expect((await acme.webhooks.list()).map((w) => w.id)).toEqual([mine.id]);
    expect((await admin.webhooks.list()).map((w) => w.id)).toEqual([mine.id, theirs.id]);
    expect((await admin.webhooks.list({ tenant: 'globex' })).map((w) => w.id)).toEqual([theirs.id]);
    expect(await problem(acme.webhooks.list({ tenant: 'globex' }))).toMatchObject({ status: 403 });
    // One call at a time: calls started together reject before the loop awaits them (an unhandled rejection).
    for (const call of [() => globex.webhooks.get(mine.id), () => globex.webhooks.delete(mine.id), () => globex.webhooks.enable(mine.id), () => globex.webhooks.deliveries(mine.id)]) {
      expect(await problem(call())).toMatchObject({ status: 404, problem: { detail: `webhook ${mine.id} not found` } });
    }
    expect(await problem(viewer.webhooks.list())).toMatchObject({ status: 403 });
    expect(await problem(worker.webhooks.create({ url: 'https://example.com/w' }))).toMatchObject({ status: 403 });

    const read = await admin.webhooks.get(mine.id);
    expect(read).not.toHaveProperty('secret');
    const rotated = await acme.webhooks.rotateSecret(mine.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(mine.secret);

    const patched = await acme.webhooks.update(mine.id, { url: 'https://example.com/v2', events: ['*'], description: 'v2', enabled: false });
    expect(patched).toMatchObject({ url: 'https://example.com/v2', events: [], description: 'v2', enabled: false, disabledReason: 'disabled by its owner' });
    expect(await acme.webhooks.enable(mine.id)).toMatchObject({ enabled: true, disabledReason: null });
    await acme.webhooks.delete(mine.id);
    expect(await problem(acme.webhooks.get(mine.id))).toMatchObject({ status: 404 });
  });

  it('pings a receiver with a signed request, and pages through the delivery log', async () => {
    const { acme } = await start();
    const receiver: Receiver = await startReceiver();
    engines.defer(() => receiver.close());
    const sub = await acme.webhooks.create({ url: receiver.url, events: ['job.submitted'] });
    const ping = await acme.webhooks.test(sub.id);
    expect(ping).toMatchObject({ delivered: true, statusCode: 200, error: null, eventId: expect.stringMatching(/^ping-/) });
    const [got] = await receiver.waitFor(1);
    expect(got!.event).toMatchObject({ type: 'docket.webhook.ping', subject: sub.id, tenant: 'acme', data: { webhookId: sub.id } });
    expect(verifyDocketSignature(sub.secret, got!.headers['docket-signature'], got!.body)).toBe(true);

    // Pings are not in the log; three submitted jobs are.
    await docket!.jobs.submitter.submit([{ type: 'a' }, { type: 'b' }, { type: 'c' }], { tenant: 'acme' });
    await receiver.waitFor(4);
    const all: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await acme.webhooks.deliveries(sub.id, { limit: 2, ...(cursor ? { cursor } : {}) });
      all.push(...page.deliveries.map((d) => d.eventId));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(all).toHaveLength(3);
    expect(all.map(Number)).toEqual(all.map(Number).sort((a, b) => b - a));
    expect((await acme.webhooks.deliveries(sub.id, { status: 'failed' })).deliveries).toEqual([]);

    // A receiver that is not there: the ping says why.
    const down = await acme.webhooks.create({ url: 'http://127.0.0.1:9/nothing-listens' });
    expect(await acme.webhooks.test(down.id)).toMatchObject({ delivered: false, statusCode: null, error: NO_ANSWER });
  });
});
