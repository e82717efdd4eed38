import type { FastifyInstance } from 'fastify';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { ConfigError, loadConfigFile, parseConfigFile } from '../src/config/index.js';
import type { Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import type { LogEvent } from '../src/ports/event-log.js';
import { DocketClient } from '../src/sdk/client.js';
import { submitCommand } from '../src/interfaces/cli/commands/submit.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { deployments, type DeploymentOptions } from './helpers/deployments.js';

/**
 * Deduplication over HTTP (docs/jobs.md#deduplication): rules from a config file, a client's own
 * dedupKey, the 200 + `deduplicated: true` answer, the `deduplicated` event, and 50 concurrent
 * identical submits creating one job, on both deployments (embedded; PostgreSQL + Redis).
 */

let docket: Docket | undefined;
let app: FastifyInstance | undefined;
let base: string;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await app?.close();
  await docket?.stop();
  app = undefined;
  docket = undefined;
  for (const c of cleanups.splice(0)) await c();
});
const DEPLOYMENTS = deployments((c) => cleanups.push(c));

const RULES = {
  dedup: [
    { type: 'send-email', fields: ['payload.to', 'payload.template'], ttlSeconds: 3600 },
    { type: 'send-email', queue: 'bulk', fields: ['payload.to'], ttlSeconds: 60 },
  ],
};

/** The config file as an operator writes it. */
function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'docket-dedup-')), 'docket.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

async function serve(d: Docket): Promise<void> {
  docket = d;
  app = await buildServer({ jobs: d.jobs, workers: d.workers, recovery: d.recoveryOps, auth: testAuth() });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
}

/** Which of DEPLOYMENTS the enclosing describe runs on. */
let current = DEPLOYMENTS[0]!;

/** An engine of the current deployment with the rules of a config file, served over HTTP. */
async function start(options: Omit<DeploymentOptions, 'rules'> = {}): Promise<Docket> {
  const d = await current.open({ rules: loadConfigFile(configFile(RULES)), ...options });
  await serve(d);
  return d;
}

async function post(path: string, token: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

/** Every event of the log so far (positions them first, as the leader's relay does). */
async function events(d: Docket): Promise<LogEvent[]> {
  while ((await d.store.events.position(1000)) > 0) {
    // PostgreSQL gives committed rows their positions here
  }
  return d.store.events.read(0, 10_000);
}

describe('the dedup section of the configuration file', () => {
  it('names the bad entry of a dedup section: dedup[1].fields[0]', () => {
    const bad = (dedup: unknown) => () => parseConfigFile({ dedup }, 'docket.json');
    expect(bad([{ type: 'a', fields: ['payload.x'], ttlSeconds: 60 }, { type: 'b', fields: ['body.x'], ttlSeconds: 60 }])).toThrow(
      /^docket\.json: dedup\[1\]\.fields\[0\]: "body\.x" must start with payload\. or labels\., or be queue or priority/,
    );
    expect(bad([{ type: 'a', fields: [], ttlSeconds: 60 }])).toThrow(/dedup\[0\]\.fields: /);
    expect(bad([{ type: 'a', fields: ['queue'], ttlSeconds: 0 }])).toThrow(/dedup\[0\]\.ttlSeconds: /);
    expect(bad([{ type: 'a', fields: ['queue'], ttlSeconds: 5, extra: 1 }])).toThrow(/dedup\[0\]\.extra: unknown field/);
    expect(bad([{ type: 'a', fields: ['queue'], ttlSeconds: 5 }, { type: 'a', fields: ['priority'], ttlSeconds: 5 }])).toThrow(/dedup\[1\]: the same type as dedup\[0\]/);
    expect(bad({})).toThrow(ConfigError);
  });
});

/** 50 identical submits at once over HTTP: one job, and every reply names it. */
async function fiftyAtOnce(d: Docket): Promise<void> {
  const token = await tokenFor('acme', ['submitter']);
  const job = { type: 'send-email', payload: { to: 'race@example.com', template: 'welcome' } };
  const replies = await Promise.all(Array.from({ length: 50 }, () => post('/v1/jobs', token, job)));
  expect(replies.map((r) => r.status).sort()).toEqual([...Array(49).fill(200), 201]);
  expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
  expect(replies.filter((r) => r.body.deduplicated)).toHaveLength(49);
  const counts = await d.store.countByState({ tenant: 'acme' });
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
  expect((await events(d)).filter((e) => e.type === 'deduplicated')).toHaveLength(49);
}

for (const deployment of DEPLOYMENTS) {
  describe(deployment.name, () => {
    beforeAll(() => {
      current = deployment;
    });

    describe('dedup rules from the config file', () => {
      it('a job with the same rule fields inside the TTL gets the existing job back: 200, deduplicated, nothing created', async () => {
        const d = await start();
        const token = await tokenFor('acme', ['submitter']);
        const job = { type: 'send-email', payload: { to: 'ann@example.com', template: 'welcome', name: 'Ann' } };
        const first = await post('/v1/jobs', token, job);
        expect(first.status, first.text).toBe(201);
        expect(first.body.deduplicated).toBeUndefined(); // a created job reads as any other

        // Other fields may differ: only payload.to and payload.template form the key (key order does not matter).
        const again = await post('/v1/jobs', token, { type: 'send-email', payload: { template: 'welcome', to: 'ann@example.com', name: 'Annie' }, priority: 2 });
        expect(again.status, again.text).toBe(200);
        expect(again.body).toMatchObject({ id: first.body.id, deduplicated: true, payload: { name: 'Ann' }, priority: 5 });

        // Another recipient, another type, or another tenant: new jobs.
        expect((await post('/v1/jobs', token, { ...job, payload: { ...job.payload, to: 'bob@example.com' } })).status).toBe(201);
        expect((await post('/v1/jobs', token, { ...job, type: 'send-sms' })).status).toBe(201);
        expect((await post('/v1/jobs', await tokenFor('globex', ['submitter']), job)).status).toBe(201);
        expect((await d.store.countByState({ tenant: 'acme' })).ready).toBe(3);
      });

      it('a rule for a queue wins over the rule for any queue', async () => {
        await start();
        const token = await tokenFor('acme', ['submitter']);
        const a = await post('/v1/jobs', token, { type: 'send-email', queue: 'bulk', payload: { to: 'x@y', template: 'a' } });
        const b = await post('/v1/jobs', token, { type: 'send-email', queue: 'bulk', payload: { to: 'x@y', template: 'b' } });
        expect([a.status, b.status]).toEqual([201, 200]);
        expect(b.body.id).toBe(a.body.id);
      });

      it('logs a deduplicated event for the existing job, with the data of the other job events', async () => {
        const d = await start();
        const token = await tokenFor('acme', ['submitter']);
        const job = { type: 'send-email', payload: { to: 'ann@example.com', template: 'welcome' }, linkId: 'signup-1' };
        const first = await post('/v1/jobs', token, job);
        await post('/v1/jobs', token, job);
        const dedup = (await events(d)).filter((e) => e.type === 'deduplicated');
        expect(dedup).toHaveLength(1);
        expect(dedup[0]).toMatchObject({
          topic: 'job-events',
          key: first.body.id,
          tenant: 'acme',
          linkId: 'signup-1',
          data: { jobId: first.body.id, queue: 'default', jobType: 'send-email', state: 'ready', priority: 5, maxAttempts: 3, dedupKey: expect.stringMatching(/^rule:[0-9a-f]{64}$/) },
        });
      });
    });

    describe('a client dedupKey', () => {
      it('dedups per type within its TTL, then a new job is created', async () => {
        const clock = new ManualClock(Date.now());
        await start({ clock });
        const token = await tokenFor('acme', ['submitter']);
        const job = { type: 'charge', payload: { order: 7 }, dedupKey: 'order-7', dedupTtlSeconds: 60 };
        const first = await post('/v1/jobs', token, job);
        const again = await post('/v1/jobs', token, { ...job, payload: { order: 'other' } });
        expect([first.status, again.status]).toEqual([201, 200]);
        expect(again.body).toMatchObject({ id: first.body.id, deduplicated: true });
        expect((await post('/v1/jobs', token, { ...job, type: 'refund' })).status).toBe(201); // keys are per type

        clock.advance(60_000);
        const after = await post('/v1/jobs', token, job);
        expect(after.status).toBe(201);
        expect(after.body.id).not.toBe(first.body.id);
      });

      it('wins over a rule, and the SDK returns the flag', async () => {
        await start();
        const client = new DocketClient({ baseUrl: base, token: await tokenFor('acme', ['submitter']) });
        const a = await client.submit({ type: 'send-email', payload: { to: 'a@x', template: 't' }, dedupKey: 'k1' });
        const b = await client.submit({ type: 'send-email', payload: { to: 'a@x', template: 't' }, dedupKey: 'k2' });
        const c = await client.submit({ type: 'send-email', payload: { to: 'b@x', template: 'u' }, dedupKey: 'k1' });
        expect([a.deduplicated, b.deduplicated, c.deduplicated]).toEqual([undefined, undefined, true]);
        expect(c.id).toBe(a.id);
      });

      it('docket submit --dedup-key says on stderr that the job was deduplicated; stdout stays the job', async () => {
        await start();
        const token = await tokenFor('acme', ['submitter']);
        const run = async () => {
          const out: string[] = [];
          const err: string[] = [];
          const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
          const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
          try {
            await submitCommand().parseAsync(['echo', '--payload', '{"n":1}', '--dedup-key', 'cli-1', '--dedup-ttl', '600', '--url', base, '--token', token], { from: 'user' });
          } finally {
            stdout.mockRestore();
            stderr.mockRestore();
          }
          return { job: JSON.parse(out.join('')), err: err.join('') };
        };
        const first = await run();
        const second = await run();
        expect(first.err).toBe('');
        expect(second.job).toMatchObject({ id: first.job.id, deduplicated: true });
        expect(second.err).toMatch(new RegExp(`^deduplicated: job ${first.job.id} \\(ready\\) already holds this dedup key; nothing was created`));
      });

      it('refuses bad dedup fields with a problem naming them', async () => {
        await start();
        const token = await tokenFor('acme', ['submitter']);
        const r = await post('/v1/jobs', token, { type: 'x', dedupTtlSeconds: 5 });
        expect(r.status).toBe(400);
        expect(r.body.errors).toEqual([{ path: '/dedupTtlSeconds', message: expect.stringContaining('dedupKey') }]);
        const bulk = await post('/v1/jobs/bulk', token, { jobs: [{ type: 'x' }, { type: 'x', dedupKey: '', dedupTtlSeconds: 0 }] });
        expect(bulk.status).toBe(400);
        expect(bulk.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/jobs/1/dedupKey', '/jobs/1/dedupTtlSeconds']);
      });
    });

    describe('bulk submits', () => {
      it('flag each job; only new keys create jobs; 200 when every job was a duplicate', async () => {
        const d = await start();
        const token = await tokenFor('acme', ['submitter']);
        const held = await post('/v1/jobs', token, { type: 'x', dedupKey: 'held' });
        const r = await post('/v1/jobs/bulk', token, { jobs: [{ type: 'x', dedupKey: 'new' }, { type: 'x', dedupKey: 'held' }, { type: 'x', dedupKey: 'new' }, { type: 'x' }] });
        expect(r.status, r.text).toBe(201);
        const [n, h, n2, plain] = r.body.jobs;
        expect([n.deduplicated, h.deduplicated, n2.deduplicated, plain.deduplicated]).toEqual([undefined, true, true, undefined]);
        expect(h.id).toBe(held.body.id);
        expect(n2.id).toBe(n.id); // a repeat inside the request gets the first one's job
        expect((await d.store.countByState({ tenant: 'acme' })).ready).toBe(3);

        const all = await post('/v1/jobs/bulk', token, { jobs: [{ type: 'x', dedupKey: 'new' }, { type: 'x', dedupKey: 'held' }] });
        expect(all.status).toBe(200);
        expect(all.body.jobs.map((j: { id: string }) => j.id)).toEqual([n.id, held.body.id]);
      });

      it('with an Idempotency-Key, the dedup answer is what a retry gets again', async () => {
        await start();
        const token = await tokenFor('acme', ['submitter']);
        const first = await post('/v1/jobs', token, { type: 'x', dedupKey: 'd' });
        const dup = await post('/v1/jobs', token, { type: 'x', dedupKey: 'd' }, { 'idempotency-key': 'i-1' });
        const retry = await post('/v1/jobs', token, { type: 'x', dedupKey: 'd' }, { 'idempotency-key': 'i-1' });
        expect([dup.status, retry.status]).toEqual([200, 200]);
        expect(retry.headers.get('idempotent-replayed')).toBe('true');
        expect(retry.body).toMatchObject({ id: first.body.id, deduplicated: true });
      });
    });

    describe('50 concurrent identical submits', () => {
      it('create exactly one job', async () => {
        const loopErrors: unknown[] = [];
        await fiftyAtOnce(await start({ onError: (err) => loopErrors.push(err) }));
        expect(loopErrors, 'errors of the background loops').toEqual([]);
      });
    });
  });
}
