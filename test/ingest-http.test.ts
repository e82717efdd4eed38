// POST /v1/events: the ingest pipeline over HTTP on both deployments (embedded; PostgreSQL + Redis),
// and, on the embedded engine, the route without rules and configuration errors at start (the
// server's and the configuration's alone). The Kafka side is in test/ingest-kafka.test.ts and
// test/ingest-kcat.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { openEngine } from '../src/app/engine.js';
import { compileIngest, type IngestFile } from '../src/domain/ingest/rules.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { adminToken, tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';

const RULES: IngestFile = {
  rules: [
    {
      name: 'order-paid',
      match: { type: 'com.acme.order.paid', 'data.order.total': { exists: true } },
      jobs: [
        { type: 'invoice.send', queue: 'billing', priority: 2, expiresInSeconds: 3600, payload: { orderId: 'data.order.id', total: 'data.order.total' }, dedup: ['data.order.id'] },
        { type: 'ship', queue: 'warehouse', delaySeconds: 60 },
      ],
    },
    { name: 'audit', match: { type: { regex: '^com\\.acme\\.' }, source: { oneOf: ['urn:acme:shop', 'urn:acme:pos'] } }, jobs: [{ type: 'audit.record', queue: 'audit' }] },
    { name: 'ignore-pings', match: { type: 'com.acme.ping' }, jobs: [] },
  ],
};

const engines = both();
let base: string;

let seq = 0;
function paid(over: Record<string, unknown> = {}) {
  seq++;
  return { specversion: '1.0' as const, id: `evt-${seq}`, type: 'com.acme.order.paid', source: 'urn:acme:shop', data: { order: { id: `o-${seq}`, total: 10 * seq } }, ...over };
}

async function post(token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, any> };
}

engines.onBoth('POST /v1/events', () => {
  // An engine of the deployment for each test, serving the pipeline as the server builds it (src/app/ingest.ts).
  beforeEach(async () => {
    ({ base } = await engines.start({}, (d) => ({ ingest: new IngestPipeline(d.jobs, d.clock, compileIngest(RULES)) })));
  });

  it('creates the jobs of every matching rule (201), enriched as configured, for the caller\'s tenant', async () => {
    const submitter = await tokenFor('acme', ['submitter']);
    const event = paid({ linkId: 'checkout-7' });
    const r = await post(submitter, event);
    expect(r.status).toBe(201);
    expect(r.body.eventId).toBe(event.id);
    expect(r.body.rules).toEqual(['order-paid', 'audit']);
    expect(r.body.jobs.map((j: any) => [j.rule, j.index, j.deduplicated])).toEqual([
      ['order-paid', 0, false],
      ['order-paid', 1, false],
      ['audit', 0, false],
    ]);
    const [invoice, ship, audit] = r.body.jobs.map((j: any) => j.job);
    expect(invoice).toMatchObject({ tenant: 'acme', queue: 'billing', type: 'invoice.send', priority: 2, state: 'ready', payload: { orderId: event.data.order.id, total: event.data.order.total }, linkId: 'checkout-7', labels: { 'ingest-rule': 'order-paid' } });
    // An hour from when the event was taken (planned a moment before the job was written).
    const expiresIn = Date.parse(invoice.expiresAt) - Date.parse(invoice.createdAt);
    expect(expiresIn).toBeLessThanOrEqual(3600_000);
    expect(expiresIn).toBeGreaterThan(3500_000);
    expect(ship).toMatchObject({ queue: 'warehouse', type: 'ship', state: 'scheduled', payload: event.data });
    expect(audit).toMatchObject({ queue: 'audit', type: 'audit.record', tenant: 'acme' });
    // The jobs are really there, found by the rule label.
    const client = new DocketClient({ baseUrl: base, token: submitter });
    expect((await client.list({ labels: { 'ingest-rule': 'order-paid' }, linkId: 'checkout-7' })).jobs).toHaveLength(2);
  });

  it('the same event again creates nothing (200, deduplicated, same ids); a new event with the same dedup key reuses that job only', async () => {
    const submitter = await tokenFor('acme', ['submitter']);
    const event = paid();
    const first = await post(submitter, event);
    const again = await post(submitter, event);
    expect(again.status).toBe(200);
    expect(again.body.jobs.map((j: any) => j.deduplicated)).toEqual([true, true, true]);
    expect(again.body.jobs.map((j: any) => j.id)).toEqual(first.body.jobs.map((j: any) => j.id));
    // Another event id, same order id: the invoice (dedup on data.order.id) exists, the others are new.
    const other = await post(submitter, { ...event, id: `${event.id}-b` });
    expect(other.status).toBe(201);
    expect(other.body.jobs.map((j: any) => j.deduplicated)).toEqual([true, false, false]);
    expect(other.body.jobs[0].id).toBe(first.body.jobs[0].id);
    // Another tenant: its own jobs (keys are per tenant).
    const globex = await post(await tokenFor('globex', ['submitter']), event);
    expect(globex.status).toBe(201);
    expect(globex.body.jobs.every((j: any) => j.job.tenant === 'globex' && !j.deduplicated)).toBe(true);
  });

  it('a rule with no jobs takes the event and creates nothing (200)', async () => {
    const r = await post(await tokenFor('acme', ['submitter']), { specversion: '1.0', id: 'ping-1', type: 'com.acme.ping', source: 'urn:other', data: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ eventId: 'ping-1', rules: ['ignore-pings'], jobs: [] });
  });

  it('an event no rule takes: 422 problem+json saying per rule which field failed', async () => {
    const r = await post(await tokenFor('acme', ['submitter']), paid({ type: 'org.other.thing', source: 'urn:other' }));
    expect(r.status).toBe(422);
    expect(r.type).toContain('application/problem+json');
    expect(r.body).toMatchObject({ type: 'urn:docket:problem:event-unmatched', status: 422, detail: expect.stringMatching(/^no ingest rule matches event evt-\d+: rule "order-paid": type is "org.other.thing"/) });
    expect(r.body.errors).toEqual([
      { path: '/type', message: 'rule "order-paid": is "org.other.thing", wanted "com.acme.order.paid"' },
      { path: '/type', message: 'rule "audit": is "org.other.thing", which does not match /^com\\.acme\\./' },
      { path: '/type', message: 'rule "ignore-pings": is "org.other.thing", wanted "com.acme.ping"' },
    ]);
  });

  it('an event that breaks a rule: 422 naming the missing field; no job of the event is created', async () => {
    const submitter = await tokenFor('breaker', ['submitter']);
    const r = await post(submitter, paid({ data: { order: { total: 5 } } }));
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ type: 'urn:docket:problem:event-rule-broken' });
    expect(r.body.errors).toEqual([
      { path: '/data/order/id', message: 'is missing; rule "order-paid" jobs[0] needs it for payload.orderId' },
      { path: '/data/order/id', message: 'is missing; rule "order-paid" jobs[0] needs it for its dedup key' },
    ]);
    // All or none: the audit rule matched too, but made nothing.
    expect((await new DocketClient({ baseUrl: base, token: submitter }).list()).jobs).toEqual([]);
    expect((await new DocketClient({ baseUrl: base, token: await adminToken() }).list()).jobs).toEqual([]);
  });

  it('checks the envelope as CloudEvents 1.0 (the Kafka consumer\'s check): 400 naming every problem at once', async () => {
    const submitter = await tokenFor('acme', ['submitter']);
    const r = await post(submitter, { type: 'com.acme.order.paid', source: '', data: {}, time: 'yesterday', linkId: 7 });
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    expect(r.body.errors.map((e: any) => e.path).sort()).toEqual(['/id', '/linkId', '/source', '/specversion', '/time']);
    for (const path of ['/id', '/specversion', '/source', '/time', '/linkId']) expect(r.body.detail).toContain(`${path}: `);
    // The optional attributes are optional: no time, no linkId, no data; CloudEvents' own optional
    // attributes and extensions are taken.
    const minimal = await post(submitter, { specversion: '1.0', id: 'minimal-1', type: 'com.acme.ping', source: 'urn:other' });
    expect(minimal.status).toBe(200);
    const full = paid({ subject: 'order/7', datacontenttype: 'application/json', dataschema: 'https://acme.example/schemas/paid.json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    expect((await post(submitter, full)).status).toBe(201);
    expect((await post(submitter, { id: 'x', type: 't', source: 's', data: {}, specversion: '0.3' })).body.errors[0].path).toBe('/specversion');
  });

  it('tenants: an event for another tenant is refused; admins act for a tenant with docket-tenant; viewers may not post', async () => {
    const submitter = await tokenFor('acme', ['submitter']);
    const forged = await post(submitter, paid({ tenant: 'globex' }));
    expect(forged.status).toBe(403);
    expect(forged.body.detail).toMatch(/tenant "globex" is not the tenant this request acts for \("acme"\)/);
    expect((await post(submitter, paid({ tenant: 'acme' }))).status).toBe(201);
    const admin = await adminToken();
    const asGlobex = await post(admin, paid(), { 'docket-tenant': 'globex' });
    expect(asGlobex.status).toBe(201);
    expect(asGlobex.body.jobs[0].job.tenant).toBe('globex');
    const viewer = await post(await tokenFor('acme', ['viewer']), paid());
    expect(viewer.status).toBe(403);
    expect(viewer.body.detail).toMatch(/needs one of: admin, submitter/);
  });

  it('the SDK: submitEvent returns the jobs; a 422 is a DocketApiError with the problem', async () => {
    const client = new DocketClient({ baseUrl: base, token: await tokenFor('acme', ['submitter']) });
    const result = await client.submitEvent(paid());
    expect(result.jobs).toHaveLength(3);
    const err = await client.submitEvent(paid({ type: 'nope' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocketApiError);
    expect((err as DocketApiError).status).toBe(422);
    expect((err as DocketApiError).problem?.errors?.[0]?.path).toBe('/type');
  });
});

// The server's alone: without a pipeline the route answers before any engine is involved.
describe('POST /v1/events without ingest rules', () => {
  it('answers 501 saying how to configure them', async () => {
    const { base: url } = await engines.start();
    const res = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' }, body: JSON.stringify(paid()) });
    expect(res.status).toBe(501);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/"ingest" section/);
  });
});

// The configuration's alone: the rules are checked when the file is read, before an engine is chosen.
describe('ingest configuration errors at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'docket-ingest-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(ingest: unknown, env: Record<string, string> = {}) {
    const file = join(dir, `config-${++seq}.json`);
    writeFileSync(file, JSON.stringify({ ingest }));
    const config = loadConfig({ DOCKET_DATA_DIR: join(dir, `data-${seq}`), DOCKET_CONFIG: file, ...env });
    const engine = await openEngine(config, () => {});
    await engine.close();
    return { file, engine };
  }

  it('names the file and the rule\'s path', async () => {
    const err = await start({ rules: [{ name: 'a', jobs: [] }, { name: 'b', jobs: [{ type: 'x', payload: { orderId: 'order.id' } }] }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/config-\d+\.json: \/ingest\/rules\/1\/jobs\/0\/payload\/orderId: path "order\.id" must start with one of/);
  });

  it('input topics without DOCKET_KAFKA_BROKERS: a clear error; rules alone (HTTP only) start fine', async () => {
    const err = await start({ topics: ['orders'], rules: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/\/ingest\/topics: consuming orders needs Kafka: set DOCKET_KAFKA_BROKERS, or remove ingest.topics/);
    const { engine } = await start({ rules: [{ name: 'r', jobs: [{ type: 'echo' }] }] });
    expect(engine.ingest?.config.rules.map((r) => r.name)).toEqual(['r']);
  });
});
