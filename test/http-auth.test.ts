// The authorization matrix over real HTTP: every role against every endpoint, on a job of the
// caller's own tenant and of another tenant; and every way a token can be refused.
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/auth/roles.js';
import { jwksAuthenticator } from '../src/auth/tokens.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { compileIngest } from '../src/domain/ingest/rules.js';
import { IngestPipeline } from '../src/services/ingest/pipeline.js';
import { TEST_SECRET, testAuth, tokenFor } from './helpers/auth.js';

const ROLES: Role[] = ['admin', 'submitter', 'viewer', 'worker'];

let docket: Docket;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, schedules: docket.schedules, auth: testAuth(), webhooks: docket.webhooks!.service, ingest: new IngestPipeline(docket.jobs, docket.clock, compileIngest({ rules: [{ name: 'matrix', jobs: [{ type: 'matrix' }] }] })) });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await docket?.stop();
});

async function call(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** A job of `tenant` in state ready, or finished (cancelled) for resubmit. */
async function jobOf(tenant: string, finished = false): Promise<string> {
  const [job] = await docket.jobs.submitter.submit([{ type: 'matrix', queue: `q-${tenant}` }], { tenant });
  if (finished) await docket.jobs.cancels.cancel(job!.id);
  return job!.id;
}

/** A template of `tenant` (job templates are looked up in the caller's own tenant). */
let templates = 0;
/** Events posted: each gets its own id, so each creates its job (201). */
let events = 0;
async function templateOf(tenant: string): Promise<string> {
  const id = `matrix-${++templates}`;
  await docket.jobs.templates!.create(tenant, { id, defaults: { type: 'matrix' } });
  return id;
}

/** A cron schedule of `tenant` (another tenant's answers 404; see test/http-schedules.test.ts). */
let schedules = 0;
async function scheduleOf(tenant: string): Promise<string> {
  return (await docket.schedules!.create({ name: `matrix-${++schedules}`, cron: '@daily', job: { type: 'matrix' } }, tenant)).id;
}

/** A webhook subscription of `tenant` (another tenant's answers 404; see test/http-webhooks.test.ts). */
async function webhookOf(tenant: string): Promise<string> {
  return (await docket.webhooks!.service.create(tenant, { url: 'https://example.com/matrix' })).id;
}

type Relation = 'own' | 'other';
interface Endpoint {
  name: string;
  /** Roles that may call it, as the docs promise (independent of src/auth/roles.ts). */
  allowed: Role[];
  /** Whether the job it acts on is tenant-scoped (another tenant's job answers 404). */
  scoped: boolean;
  request(relation: Relation): Promise<[string, string, unknown?]>;
  /** The success status. */
  ok: number;
}

const OWN = 'acme';
const OTHER = 'globex';
const tenantOf = (r: Relation) => (r === 'own' ? OWN : OTHER);

const ENDPOINTS: Endpoint[] = [
  { name: 'submit', allowed: ['admin', 'submitter'], scoped: false, ok: 201, request: async () => ['POST', '/v1/jobs', { type: 'matrix' }] },
  { name: 'bulk submit', allowed: ['admin', 'submitter'], scoped: false, ok: 201, request: async () => ['POST', '/v1/jobs/bulk', { jobs: [{ type: 'matrix' }] }] },
  { name: 'submit event', allowed: ['admin', 'submitter'], scoped: false, ok: 201, request: async () => ['POST', '/v1/events', { specversion: '1.0', id: `matrix-${++events}`, type: 'matrix', source: 'test', data: {} }] },
  { name: 'get job', allowed: ROLES, scoped: true, ok: 200, request: async (r) => ['GET', `/v1/jobs/${await jobOf(tenantOf(r))}`] },
  { name: 'job progress', allowed: ROLES, scoped: true, ok: 200, request: async (r) => ['GET', `/v1/jobs/${await jobOf(tenantOf(r))}/progress`] },
  { name: 'list jobs', allowed: ROLES, scoped: false, ok: 200, request: async () => ['GET', '/v1/jobs'] },
  { name: 'cancel', allowed: ['admin', 'submitter'], scoped: true, ok: 200, request: async (r) => ['POST', `/v1/jobs/${await jobOf(tenantOf(r))}/cancel`] },
  { name: 'resubmit', allowed: ['admin', 'submitter'], scoped: true, ok: 201, request: async (r) => ['POST', `/v1/jobs/${await jobOf(tenantOf(r), true)}/resubmit`] },
  { name: 'list queues', allowed: ROLES, scoped: false, ok: 200, request: async () => ['GET', '/v1/queues'] },
  { name: 'pause queue', allowed: ['admin'], scoped: false, ok: 200, request: async () => ['POST', '/v1/queues/matrix-paused/pause'] },
  { name: 'resume queue', allowed: ['admin'], scoped: false, ok: 200, request: async () => ['POST', '/v1/queues/matrix-paused/resume'] },
  { name: 'register worker', allowed: ['admin', 'worker'], scoped: false, ok: 201, request: async () => ['POST', '/v1/workers', { queues: ['matrix'] }] },
  { name: 'list workers', allowed: ['admin', 'viewer', 'worker'], scoped: false, ok: 200, request: async () => ['GET', '/v1/workers'] },
  { name: 'claim', allowed: ['admin', 'worker'], scoped: false, ok: 200, request: async () => ['POST', '/v1/queues/matrix-empty/claim', { workerId: 'w', max: 1 }] },
  {
    name: 'heartbeat',
    allowed: ['admin', 'worker'],
    scoped: false,
    ok: 200,
    request: async () => ['POST', `/v1/workers/${await docket.workers.register({ queues: ['matrix'], tenant: OWN })}/heartbeat`, { jobs: [] }],
  },
  // Job templates: per tenant (another tenant's answers 404 to everyone; see test/http-templates.test.ts).
  { name: 'list templates', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['GET', '/v1/templates'] },
  { name: 'get template', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['GET', `/v1/templates/${await templateOf(OWN)}`] },
  {
    name: 'get template version',
    allowed: ['admin', 'submitter', 'viewer'],
    scoped: false,
    ok: 200,
    request: async () => ['GET', `/v1/templates/${await templateOf(OWN)}/versions/1`],
  },
  { name: 'create template', allowed: ['admin', 'submitter'], scoped: false, ok: 201, request: async () => ['POST', '/v1/templates', { id: `new-${++templates}`, defaults: { type: 'matrix' } }] },
  {
    name: 'add template version',
    allowed: ['admin', 'submitter'],
    scoped: false,
    ok: 201,
    request: async () => ['POST', `/v1/templates/${await templateOf(OWN)}/versions`, { defaults: { type: 'matrix', priority: 2 } }],
  },
  { name: 'retire template', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['POST', `/v1/templates/${await templateOf(OWN)}/retire`] },
  { name: 'delete template', allowed: ['admin', 'submitter'], scoped: false, ok: 204, request: async () => ['DELETE', `/v1/templates/${await templateOf(OWN)}`] },
  // Cron schedules: per tenant, like templates.
  { name: 'list schedules', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['GET', '/v1/schedules'] },
  { name: 'get schedule', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['GET', `/v1/schedules/${await scheduleOf(OWN)}`] },
  { name: 'schedule fires', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['GET', `/v1/schedules/${await scheduleOf(OWN)}/fires`] },
  { name: 'preview schedule', allowed: ['admin', 'submitter', 'viewer'], scoped: false, ok: 200, request: async () => ['POST', '/v1/schedules/preview', { cron: '@hourly' }] },
  {
    name: 'create schedule',
    allowed: ['admin', 'submitter'],
    scoped: false,
    ok: 201,
    request: async () => ['POST', '/v1/schedules', { name: `new-${++schedules}`, cron: '@daily', job: { type: 'matrix' } }],
  },
  { name: 'update schedule', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['PATCH', `/v1/schedules/${await scheduleOf(OWN)}`, { cron: '@hourly' }] },
  { name: 'pause schedule', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['POST', `/v1/schedules/${await scheduleOf(OWN)}/pause`] },
  { name: 'resume schedule', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['POST', `/v1/schedules/${await scheduleOf(OWN)}/resume`] },
  { name: 'delete schedule', allowed: ['admin', 'submitter'], scoped: false, ok: 204, request: async () => ['DELETE', `/v1/schedules/${await scheduleOf(OWN)}`] },
  // Webhook subscriptions: per tenant, owned by those who submit.
  { name: 'list webhooks', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['GET', '/v1/webhooks'] },
  { name: 'get webhook', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['GET', `/v1/webhooks/${await webhookOf(OWN)}`] },
  { name: 'webhook deliveries', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['GET', `/v1/webhooks/${await webhookOf(OWN)}/deliveries`] },
  { name: 'create webhook', allowed: ['admin', 'submitter'], scoped: false, ok: 201, request: async () => ['POST', '/v1/webhooks', { url: 'https://example.com/matrix' }] },
  { name: 'update webhook', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['PATCH', `/v1/webhooks/${await webhookOf(OWN)}`, { events: ['job.failed'] }] },
  { name: 'enable webhook', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['POST', `/v1/webhooks/${await webhookOf(OWN)}/enable`] },
  { name: 'rotate webhook secret', allowed: ['admin', 'submitter'], scoped: false, ok: 200, request: async () => ['POST', `/v1/webhooks/${await webhookOf(OWN)}/rotate-secret`] },
  { name: 'delete webhook', allowed: ['admin', 'submitter'], scoped: false, ok: 204, request: async () => ['DELETE', `/v1/webhooks/${await webhookOf(OWN)}`] },
];

/** Outcome-reporting routes act under a lease token: only worker-capable roles pass, and they get the lease check. */
const LEASED = ['complete', 'fail', 'progress', 'release'] as const;

describe('authorization matrix (role x endpoint x own/other tenant)', () => {
  for (const endpoint of ENDPOINTS) {
    for (const role of ROLES) {
      for (const relation of endpoint.scoped ? (['own', 'other'] as const) : (['own'] as const)) {
        const mayCall = endpoint.allowed.includes(role);
        const expected = !mayCall ? 403 : endpoint.scoped && relation === 'other' && role !== 'admin' ? 404 : endpoint.ok;
        it(`${endpoint.name}: ${role}${endpoint.scoped ? ` on ${relation} tenant's job` : ''} -> ${expected}`, async () => {
          const token = await tokenFor(OWN, [role]);
          const [method, path, body] = await endpoint.request(relation);
          const r = await call(token, method, path, body);
          expect(r.status, JSON.stringify(r.body)).toBe(expected);
          if (expected >= 400) {
            expect(r.headers.get('content-type')).toContain('application/problem+json');
            if (expected === 403) expect(r.body.detail).toContain(`role ${role} may not`);
            // Another tenant's job is answered exactly like a job that does not exist.
            if (expected === 404) expect(r.body.detail).toMatch(/^job .+ not found$/);
          }
        });
      }
    }
  }

  for (const action of LEASED) {
    for (const role of ROLES) {
      const mayCall = role === 'admin' || role === 'worker';
      it(`${action} with a stale lease: ${role} -> ${mayCall ? 409 : 403}`, async () => {
        const id = await jobOf(OWN);
        await docket.jobs.claims.claim({ workerId: 'w', queues: [`q-${OWN}`], max: 100 });
        const body = action === 'fail' ? { leaseToken: 'stale', error: { message: 'x' } } : action === 'progress' ? { leaseToken: 'stale', percent: 1 } : { leaseToken: 'stale' };
        const r = await call(await tokenFor(OWN, [role]), 'POST', `/v1/jobs/${id}/${action}`, body);
        expect(r.status).toBe(mayCall ? 409 : 403);
      });
    }
  }

  it('lists only the caller\'s tenant; an admin sees every tenant and may filter by one', async () => {
    const mine = await jobOf(OWN);
    const theirs = await jobOf(OTHER);
    const own = await call(await tokenFor(OWN, ['viewer']), 'GET', '/v1/jobs?limit=500');
    const ids = own.body.jobs.map((j: { id: string }) => j.id);
    expect(ids).toContain(mine);
    expect(ids).not.toContain(theirs);
    expect(new Set(own.body.jobs.map((j: { tenant: string }) => j.tenant))).toEqual(new Set([OWN]));

    const admin = await tokenFor('ops', ['admin']);
    const all = (await call(admin, 'GET', '/v1/jobs?limit=500')).body.jobs.map((j: { id: string }) => j.id);
    expect(all).toEqual(expect.arrayContaining([mine, theirs]));
    const filtered = (await call(admin, 'GET', `/v1/jobs?limit=500&tenant=${OTHER}`)).body.jobs;
    expect(filtered.every((j: { tenant: string }) => j.tenant === OTHER)).toBe(true);
    expect((await call(await tokenFor(OWN, ['viewer']), 'GET', `/v1/jobs?tenant=${OTHER}`)).status).toBe(403);
  });

  it('queue depths count only the caller\'s tenant', async () => {
    await jobOf(OTHER);
    const queues = (await call(await tokenFor(OWN, ['viewer']), 'GET', '/v1/queues')).body.queues.map((q: { name: string }) => q.name);
    expect(queues).not.toContain(`q-${OTHER}`);
  });

  it('lets an admin act for a tenant with the docket-tenant header, and no one else', async () => {
    const admin = await tokenFor('ops', ['admin']);
    const created = await call(admin, 'POST', '/v1/jobs', { type: 'matrix' }, { 'docket-tenant': OWN });
    expect(created.status).toBe(201);
    expect(created.body.tenant).toBe(OWN);
    const seen = await call(await tokenFor(OWN, ['viewer']), 'GET', `/v1/jobs/${created.body.id}`);
    expect(seen.status).toBe(200);
    // An admin acting for another tenant no longer sees this one's job.
    expect((await call(admin, 'GET', `/v1/jobs/${created.body.id}`, undefined, { 'docket-tenant': OTHER })).status).toBe(404);

    const submitter = await tokenFor(OWN, ['submitter']);
    const forged = await call(submitter, 'POST', '/v1/jobs', { type: 'matrix' }, { 'docket-tenant': OTHER });
    expect(forged.status).toBe(403);
    expect(forged.body.detail).toContain('only admins may act for another tenant');
    // Naming one's own tenant is harmless.
    expect((await call(submitter, 'POST', '/v1/jobs', { type: 'matrix' }, { 'docket-tenant': OWN })).status).toBe(201);
  });

  it('roles combine: submitter + viewer may do what either may', async () => {
    const both = await tokenFor(OWN, ['viewer', 'submitter']);
    expect((await call(both, 'POST', '/v1/jobs', { type: 'matrix' })).status).toBe(201);
    expect((await call(await tokenFor(OWN, ['viewer', 'worker']), 'POST', '/v1/jobs', { type: 'matrix' })).status).toBe(403);
  });
});

describe('refused tokens get 401 saying why', () => {
  const key = new TextEncoder().encode(TEST_SECRET);
  const sign = (claims: Record<string, unknown>, secret: Uint8Array = key, exp: number | string = '1h') => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
    if (claims.sub === undefined) jwt.setSubject('t');
    return jwt.setExpirationTime(exp).sign(secret);
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  async function expect401(authorization: string | null, says: string | RegExp) {
    const r = await fetch(`${base}/v1/jobs`, { headers: authorization === null ? {} : { authorization } });
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body = (await r.json()) as { detail: string };
    if (typeof says === 'string') expect(body.detail).toContain(says);
    else expect(body.detail).toMatch(says);
  }

  it('missing header, wrong scheme, malformed token', async () => {
    await expect401(null, 'missing Authorization header');
    await expect401('Basic dXNlcjpwYXNz', 'must be "Bearer <token>"');
    await expect401('Bearer not-a-jwt', 'malformed');
  });

  it('expired, badly signed, alg none', async () => {
    await expect401(`Bearer ${await sign({ tenant: 'a', roles: ['admin'] }, key, Math.floor(Date.now() / 1000) - 60)}`, 'expired at');
    await expect401(`Bearer ${await sign({ tenant: 'a', roles: ['admin'] }, new TextEncoder().encode('another-secret-another-secret-0123456'))}`, 'signature is invalid');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', tenant: 'a', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    await expect401(`Bearer ${unsigned}`, /not accepted|"none"/);
  });

  it('missing claims: exp, sub, tenant, roles', async () => {
    const noExp = await new SignJWT({ tenant: 'a', roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').sign(key);
    await expect401(`Bearer ${noExp}`, '"exp" claim');
    const noSub = await new SignJWT({ tenant: 'a', roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
    await expect401(`Bearer ${noSub}`, '"sub" claim');
    await expect401(`Bearer ${await sign({ roles: ['admin'] })}`, '"tenant" claim');
    await expect401(`Bearer ${await sign({ tenant: 'a' })}`, '"roles" claim');
    await expect401(`Bearer ${await sign({ tenant: 'a', roles: ['root'] })}`, 'include none of');
  });

  it('a "sub" that is not a non-empty string is refused, naming the claim', async () => {
    for (const sub of [{ a: 1 }, 12345, '', ['x'], null]) {
      await expect401(`Bearer ${await sign({ sub, tenant: 'a', roles: ['admin'] })}`, '"sub" claim');
    }
    // A plain string subject still passes.
    const ok = await fetch(`${base}/v1/jobs`, { headers: { authorization: `Bearer ${await sign({ sub: 'alice', tenant: 'a', roles: ['admin'] })}` } });
    expect(ok.status).toBe(200);
  });

  it('health and the API document need no token', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/openapi.json`)).status).toBe(200);
  });
});

describe('RS256 / ES256 tokens from a JWKS file or URL', () => {
  let dir: string;
  let jwksServer: Server;
  let jwksUrl: string;
  const keys: Record<string, { privateKey: CryptoKey; jwk: JWK }> = {};

  beforeAll(async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      keys[alg] = { privateKey: privateKey as CryptoKey, jwk: { ...(await exportJWK(publicKey)), kid: `k-${alg}`, alg, use: 'sig' } };
    }
    const jwks = JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) });
    dir = mkdtempSync(join(tmpdir(), 'docket-jwks-'));
    writeFileSync(join(dir, 'jwks.json'), jwks);
    jwksServer = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    jwksServer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signWith = (alg: 'RS256' | 'ES256', claims: Record<string, unknown> = { tenant: 'idp', roles: ['submitter'] }) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: `k-${alg}` }).setSubject('alice').setExpirationTime('10m').sign(keys[alg]!.privateKey);

  for (const source of ['file', 'url'] as const) {
    it(`accepts RS256 and ES256 from a JWKS ${source}, refuses HS256 and foreign keys`, async () => {
      const auth = await jwksAuthenticator(source === 'file' ? join(dir, 'jwks.json') : jwksUrl);
      const idp = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth });
      const url = await idp.listen({ host: '127.0.0.1', port: 0 });
      try {
        for (const alg of ['RS256', 'ES256'] as const) {
          const r = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${await signWith(alg)}`, 'content-type': 'application/json' }, body: '{"type":"idp"}' });
          expect(r.status).toBe(201);
          expect(((await r.json()) as { tenant: string }).tenant).toBe('idp');
        }
        const hs = await fetch(`${url}/v1/jobs`, { headers: { authorization: `Bearer ${await tokenFor('idp', ['admin'])}` } });
        expect(hs.status).toBe(401);
        expect(((await hs.json()) as { detail: string }).detail).toContain('not accepted');
        const stranger = await generateKeyPair('ES256');
        const foreign = await new SignJWT({ tenant: 'idp', roles: ['admin'] }).setProtectedHeader({ alg: 'ES256', kid: 'k-ES256' }).setSubject('mallory').setExpirationTime('10m').sign(stranger.privateKey);
        const bad = await fetch(`${url}/v1/jobs`, { headers: { authorization: `Bearer ${foreign}` } });
        expect(bad.status).toBe(401);
        expect(((await bad.json()) as { detail: string }).detail).toContain('signature is invalid');
      } finally {
        await idp.close();
      }
    });
  }
});
