// Where webhooks and job callbacks may go (issue 19 finding 5): never to the server's own network
// unless the operator opens it. Refused when made (400 naming the field), refused again on every
// delivery at the address actually connected to (a name that resolves inward, or a subscription
// stored before the guard), redirects not followed, and the test endpoint reports every failed
// connection the same way, so it cannot tell port states apart. Deliveries run on both deployments
// (embedded; PostgreSQL + Redis); the refusals when made are input validation, checked before
// anything is stored, and run on the embedded engine only.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigFile } from '../src/config/index.js';
import type { Docket } from '../src/app/docket.js';
import { AddressGuard } from '../src/net/address-guard.js';
import { BLOCKED, NO_ANSWER } from '../src/services/webhooks/post.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';
import { freePort, until } from './helpers/process.js';
import { LOCAL_RECEIVERS, startReceiver, type Receiver } from './helpers/webhook-receiver.js';

// Read as plain JSON, as a client does.
type Json = any;

const engines = both();
let docket: Docket | undefined;
let base = '';
let token = '';

async function start(allowPrivateNetworks: string[] = [], timeoutMs = 3000) {
  const webhooks = { dispatchIntervalMs: 20, pollIntervalMs: 20, policy: { allowPrivateNetworks, timeoutMs, maxAttempts: 1 } };
  const started = await engines.start({ webhooks }, (d) => ({ schedules: d.schedules, webhooks: d.webhooks!.service }));
  docket = started.docket;
  base = started.base;
  token = await tokenFor('acme', ['submitter']);
}

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Json) : undefined };
}

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(respond);
  engines.defer(() => r.close());
  return r;
}

/** A plain server on a free local port, closed after the test. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  engines.defer(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

/** A subscription written to the store as is, as one made before the guard or through a name that resolved elsewhere then. */
async function storedSubscription(url: string): Promise<string> {
  const id = uuidv7();
  await docket!.webhooks!.store.create({ id, tenant: 'acme', url, scope: { kind: 'tenant' }, events: ['job.submitted'], description: null, secret: 'whsec_test', createdAt: docket!.clock.now() - 1000 });
  return id;
}

/** Every internal form the attacker used, and more: each must be refused. */
const INTERNAL = [
  'http://localhost:5432/',
  'http://127.0.0.1/',
  'http://127.1:6379/',
  'http://[::ffff:127.0.0.1]/',
  'http://2130706433/',
  'http://0x7f.0.0.1/',
  'http://0177.0.0.1/',
  'http://[::1]:6379/',
  'http://0.0.0.0:6379/',
  'http://[::]/',
  'http://10.0.0.5/',
  'http://172.16.1.1/',
  'http://192.168.1.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/latest/meta-data/',
  'http://[fe80::1]/',
  'http://[fc00::1]/',
  'http://100.64.0.1/',
  'http://224.0.0.1/',
  'http://[ff02::1]/',
  'http://255.255.255.255/',
  'http://[::ffff:10.0.0.1]/',
  'http://[::127.0.0.1]/',
];

describe('the address guard', () => {
  it('allows public unicast addresses only, judging mapped IPv6 as the IPv4 it carries', () => {
    const guard = new AddressGuard();
    for (const url of INTERNAL) expect(guard.refusal(new URL(url).hostname), url).not.toBeNull();
    for (const address of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(guard.refusal(address), address).toBeNull();
  });

  it('opens exactly the networks of its allowlist', () => {
    const guard = new AddressGuard(['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::5']);
    expect(guard.refusal('127.0.0.1')).toBeNull();
    expect(guard.refusal('::ffff:127.0.0.1')).toBeNull();
    expect(guard.refusal('127.0.0.2')).not.toBeNull();
    expect(guard.refusal('10.20.255.1')).toBeNull();
    expect(guard.refusal('10.21.0.1')).not.toBeNull();
    expect(guard.refusal('fd00:1::5')).toBeNull();
    expect(guard.refusal('fd00:1::6')).not.toBeNull();
  });

  it('the config file takes the allowlist and refuses an entry that is no network', () => {
    expect(parseConfigFile({ webhooks: { allowPrivateNetworks: ['127.0.0.1/32', '::1'] } }).webhooks).toEqual({ allowPrivateNetworks: ['127.0.0.1/32', '::1'] });
    expect(() => parseConfigFile({ webhooks: { allowPrivateNetworks: ['intranet'] } })).toThrow(ConfigError);
    // The example docs/webhooks.md shows is a valid file.
    const doc = readFileSync(fileURLToPath(new URL('../docs/webhooks.md', import.meta.url)), 'utf8');
    const example = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('allowPrivateNetworks'))!;
    expect(parseConfigFile(JSON.parse(example)).webhooks!.allowPrivateNetworks).toHaveLength(3);
    expect(() => parseConfigFile({ webhooks: { allowPrivateNetworks: ['10.0.0.0/99'] } })).toThrow(/allowPrivateNetworks\/0: "10.0.0.0\/99" is not an IP address or CIDR/);
  });
});

// Input validation: the guard refuses before the service stores anything, the same on both deployments.
describe('targets refused when made', () => {
  it('a subscription to an internal address or a name resolving to one is 400 naming /url', async () => {
    await start();
    for (const url of INTERNAL) {
      const r = await call('POST', '/v1/webhooks', { url });
      expect(r.status, url).toBe(400);
      expect(r.type).toContain('application/problem+json');
      expect(r.body.errors, url).toMatchObject([{ path: '/url', message: expect.stringMatching(/public addresses/) }]);
    }
    // A public address is accepted (nothing is sent on creation).
    const ok = await call('POST', '/v1/webhooks', { url: 'http://93.184.215.14/hooks' });
    expect(ok.status).toBe(201);
    const moved = await call('PATCH', `/v1/webhooks/${ok.body.id}`, { url: 'http://169.254.169.254/' });
    expect(moved.status).toBe(400);
    expect(moved.body.errors).toMatchObject([{ path: '/url' }]);
  });

  it('a job callbackUrl to an internal address is 400 on submit, bulk submit and schedules', async () => {
    await start();
    const single = await call('POST', '/v1/jobs', { type: 't', callbackUrl: 'http://localhost:6379/' });
    expect(single.status).toBe(400);
    expect(single.body.errors).toMatchObject([{ path: '/callbackUrl', message: expect.stringMatching(/localhost resolves to a loopback address/) }]);
    const bulk = await call('POST', '/v1/jobs/bulk', { jobs: [{ type: 't', callbackUrl: 'http://93.184.215.14/' }, { type: 't', callbackUrl: 'http://[::ffff:127.0.0.1]:5432/' }] });
    expect(bulk.status).toBe(400);
    expect(bulk.body.errors).toMatchObject([{ path: '/jobs/1/callbackUrl' }]);
    const schedule = await call('POST', '/v1/schedules', { name: 'ssrf', cron: '@daily', job: { type: 't', callbackUrl: 'http://2130706433/' } });
    expect(schedule.status).toBe(400);
    expect(schedule.body.errors).toMatchObject([{ path: '/job/callbackUrl' }]);
    // Nothing was written.
    expect((await docket!.jobs.queries.list({ tenant: 'acme' }, 10)).jobs).toEqual([]);
    // A public callback is taken.
    expect((await call('POST', '/v1/jobs', { type: 't', callbackUrl: 'http://93.184.215.14/done' })).status).toBe(201);
  });
});

engines.onBoth('targets refused at delivery', () => {
  it('a stored subscription to an internal receiver is never delivered to, by name (lookup) or by address', async () => {
    await start();
    const target = await receiver();
    const port = new URL(target.url).port;
    const byName = await storedSubscription(`http://localhost:${port}/by-name`);
    const byAddress = await storedSubscription(`http://[::ffff:127.0.0.1]:${port}/by-address`);
    await docket!.jobs.submitter.submit([{ type: 't' }], { tenant: 'acme' });
    // Both deliveries are attempted (maxAttempts 1) and fail as blocked.
    for (const id of [byName, byAddress]) {
      const log = await waitForFailed(id);
      expect(log.lastError).toBe(BLOCKED);
    }
    const ping = await call('POST', `/v1/webhooks/${byName}/test`);
    expect(ping.body).toMatchObject({ delivered: false, statusCode: null, error: BLOCKED });
    expect(target.received).toEqual([]);
  });

  it('redirects are not followed, even to an allowed address', async () => {
    await start(['127.0.0.1/32']);
    const inner = await receiver();
    const port = await listen(createServer((_, res) => res.writeHead(302, { location: inner.url }).end()));
    const created = await call('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/hop`, events: ['job.submitted'] });
    expect(created.status).toBe(201);
    const ping = await call('POST', `/v1/webhooks/${created.body.id}/test`);
    expect(ping.body).toMatchObject({ delivered: false, statusCode: 302 });
    expect(inner.received).toEqual([]);
  });

  it('the test endpoint reports refused, reset and silent receivers alike', async () => {
    await start(['127.0.0.1/32'], 300);
    const closed = await freePort(); // nothing listens there
    const reset = await listen(createServer((req) => req.socket.destroy()));
    const silent = await listen(createServer(() => {}));
    const outcomes: Json[] = [];
    for (const port of [closed, reset, silent]) {
      const created = await call('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/x` });
      expect(created.status).toBe(201);
      const ping = await call('POST', `/v1/webhooks/${created.body.id}/test`);
      expect(ping.status).toBe(200);
      outcomes.push({ delivered: ping.body.delivered, statusCode: ping.body.statusCode, error: ping.body.error });
    }
    expect(outcomes).toEqual([0, 1, 2].map(() => ({ delivered: false, statusCode: null, error: NO_ANSWER })));
  });

  it('the allowlist opens a network for creation and delivery, by address and by a name resolving into it', async () => {
    await start(LOCAL_RECEIVERS);
    const target = await receiver();
    const port = new URL(target.url).port;
    for (const url of [target.url, `http://localhost:${port}/by-name`]) {
      const created = await call('POST', '/v1/webhooks', { url });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect((await call('POST', `/v1/webhooks/${created.body.id}/test`)).body).toMatchObject({ delivered: true, statusCode: 200 });
    }
    expect(target.received.map((r) => r.event.type)).toEqual(['docket.webhook.ping', 'docket.webhook.ping']);
    // Another loopback address stays closed.
    expect((await call('POST', '/v1/webhooks', { url: `http://127.0.0.2:${port}/` })).status).toBe(400);
  });
});

/** The subscription's one delivery once it is given up, as the log shows it. */
function waitForFailed(id: string): Promise<Json> {
  return until(`a failed delivery for ${id}`, async () => (await call('GET', `/v1/webhooks/${id}/deliveries?status=failed`)).body.deliveries[0]);
}
