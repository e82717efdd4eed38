import type { Command } from 'commander';
import { expect, it, vi } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { submitCommand } from '../src/interfaces/cli/commands/submit.js';
import { templatesCommand } from '../src/interfaces/cli/commands/templates.js';
import { DocketApiError, DocketClient } from '../src/sdk/client.js';
import { tokenFor } from './helpers/auth.js';
import { both } from './helpers/both.js';

/**
 * Job templates over real HTTP (docs/templates.md): create and version, submit from a template
 * (the merge rule, the version recorded), retire, delete, validation and tenant isolation, on both
 * deployments (embedded; PostgreSQL + Redis). The store side alone is in test/template-store.test.ts.
 */

const engines = both();
let base: string;

async function start(): Promise<Docket> {
  // No worker runs: submitted jobs stay ready, so what was stored can be read back as it was.
  const started = await engines.start();
  base = started.base;
  return started.docket;
}

interface Reply {
  status: number;
  type: string;
  text: string;
  body: any;
}

async function call(method: string, path: string, opts: { token: string; body?: unknown; headers?: Record<string, string> }): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body: text ? JSON.parse(text) : undefined };
}

function expectProblem(r: Reply, status: number, paths: string[] = []): void {
  expect(r.status, r.text).toBe(status);
  expect(r.type).toContain('application/problem+json');
  expect(r.body).toMatchObject({ status, type: expect.stringMatching(/^urn:docket:problem:/), detail: expect.any(String) });
  if (paths.length > 0) expect((r.body.errors ?? []).map((e: { path: string }) => e.path)).toEqual(paths);
}

const WELCOME = {
  id: 'welcome-email',
  description: 'the mail new customers get',
  defaults: {
    type: 'email.send',
    queue: 'email',
    priority: 3,
    labels: { team: 'growth', channel: 'mail' },
    maxAttempts: 5,
    backoff: { type: 'fixed', delayMs: 2000 },
    timeoutMs: 30_000,
    payload: { from: 'noreply@example.com', options: { tracking: true, footer: 'standard' }, tags: ['welcome'] },
  },
};

engines.onBoth('submitting from a template', () => {
  it('merges the template under the job: fields replace, labels add up, the payload is a JSON merge patch; the job records the version', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const created = await call('POST', '/v1/templates', { token, body: WELCOME });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: 'welcome-email', tenant: 'acme', version: 1, retired: false, usedAt: null, versions: [{ version: 1 }] });

    const r = await call('POST', '/v1/jobs', {
      token,
      body: {
        templateId: 'welcome-email',
        payload: { to: 'ada@example.com', options: { footer: null, lang: 'de' }, tags: ['vip'] },
        labels: { channel: 'sms' },
        priority: 1,
      },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({
      type: 'email.send',
      queue: 'email',
      priority: 1,
      labels: { team: 'growth', channel: 'sms' },
      maxAttempts: 5,
      backoff: { type: 'fixed', delayMs: 2000 },
      timeoutMs: 30_000,
      templateId: 'welcome-email',
      templateVersion: 1,
    });
    // Objects merge key by key, null removes a key, arrays replace.
    expect(r.body.payload).toEqual({ from: 'noreply@example.com', options: { tracking: true, lang: 'de' }, tags: ['vip'], to: 'ada@example.com' });
    const read = await call('GET', `/v1/jobs/${r.body.id}`, { token });
    expect(read.body).toMatchObject({ templateId: 'welcome-email', templateVersion: 1, payload: r.body.payload });
    // Without a payload the template's is used as it is; a plain job shows no template.
    const bare = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email' } });
    expect(bare.body.payload).toEqual(WELCOME.defaults.payload);
    const plain = await call('POST', '/v1/jobs', { token, body: { type: 'other' } });
    expect(plain.body).toMatchObject({ templateId: null, templateVersion: null });
    // The first use is recorded: from now on the template is retired, not deleted.
    expect((await call('GET', '/v1/templates/welcome-email', { token })).body.usedAt).toEqual(expect.any(String));
  });

  it('uses the latest version unless one is named; old versions stay as they were; jobs are listed by template', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: WELCOME });
    const v2 = await call('POST', '/v1/templates/welcome-email/versions', { token, body: { description: 'slower', defaults: { ...WELCOME.defaults, priority: 7 } } });
    expect(v2.status, v2.text).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, description: 'slower', defaults: { priority: 7 }, versions: [{ version: 1 }, { version: 2, description: 'slower' }] });

    const latest = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email' } });
    expect(latest.body).toMatchObject({ priority: 7, templateVersion: 2 });
    const pinned = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email', templateVersion: 1 } });
    expect(pinned.body).toMatchObject({ priority: 3, templateVersion: 1 });
    expectProblem(await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email', templateVersion: 9 } }), 400, ['/templateVersion']);

    const v1 = await call('GET', '/v1/templates/welcome-email/versions/1', { token });
    expect(v1.body).toMatchObject({ version: 1, latest: false, defaults: WELCOME.defaults });
    expect((await call('GET', '/v1/templates/welcome-email/versions/2', { token })).body).toMatchObject({ latest: true });
    expectProblem(await call('GET', '/v1/templates/welcome-email/versions/3', { token }), 404);

    await call('POST', '/v1/jobs', { token, body: { type: 'unrelated' } });
    const listed = await call('GET', '/v1/jobs?templateId=welcome-email', { token });
    expect(listed.body.jobs.map((j: { id: string }) => j.id)).toEqual([pinned.body.id, latest.body.id]);
  });

  it('names each bad field of a bulk submit by its path, creating nothing', async () => {
    const d = await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: { id: 'delayed', defaults: { type: 'report', delayMs: 60_000 } } });
    const r = await call('POST', '/v1/jobs/bulk', {
      token,
      body: {
        jobs: [
          { type: 'plain' },
          { templateId: 'nope' },
          // The merged job is validated like any job: an expiry before the template's delay ends.
          { templateId: 'delayed', expiresAt: new Date(Date.now() + 1000).toISOString() },
          { templateVersion: 2 },
          { payload: {} },
        ],
      },
    });
    expectProblem(r, 400, ['/jobs/1/templateId', '/jobs/3/templateVersion', '/jobs/2/expiresAt', '/jobs/4/type']);
    expect(r.body.errors[0].message).toContain('no template "nope"');
    expect(r.body.errors[3].message).toBe('required (or give templateId)');
    expect((await d.jobs.queries.list({}, 10)).jobs).toEqual([]);
    // Nothing was created, so the template was not marked used.
    expect((await call('GET', '/v1/templates/delayed', { token })).body.usedAt).toBeNull();

    const ok = await call('POST', '/v1/jobs/bulk', { token, body: { jobs: [{ type: 'plain' }, { templateId: 'delayed', runAt: '2030-01-01T00:00:00Z' }] } });
    expect(ok.status, ok.text).toBe(201);
    // The job's start time replaces the template's delay.
    expect(ok.body.jobs[1]).toMatchObject({ type: 'report', state: 'scheduled', runAt: '2030-01-01T00:00:00.000Z', templateId: 'delayed' });
    expect(ok.body.jobs[0]).toMatchObject({ templateId: null });
  });

  it('turns expiresInMs into an expiry after the start time, unless the job gives one', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: { id: 'fresh', defaults: { type: 'quote', delayMs: 10_000, expiresInMs: 60_000 } } });
    const job = (await call('POST', '/v1/jobs', { token, body: { templateId: 'fresh' } })).body;
    expect(Date.parse(job.expiresAt) - Date.parse(job.runAt)).toBe(60_000);
    const own = (await call('POST', '/v1/jobs', { token, body: { templateId: 'fresh', expiresAt: '2031-01-01T00:00:00Z' } })).body;
    expect(own.expiresAt).toBe('2031-01-01T00:00:00.000Z');
  });

  it('works with an Idempotency-Key: a retry gets the same job', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: WELCOME });
    const headers = { 'idempotency-key': 'signup-7' };
    const first = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email', payload: { to: 'x@y.z' } }, headers });
    const again = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email', payload: { to: 'x@y.z' } }, headers });
    expect(first.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(first.body.templateVersion).toBe(1);
  });
});

engines.onBoth('retiring and deleting', () => {
  it('a retired template refuses submits and new versions (409) and stays readable', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: WELCOME });
    const retired = await call('POST', '/v1/templates/welcome-email/retire', { token });
    expect(retired.status, retired.text).toBe(200);
    expect(retired.body).toMatchObject({ retired: true, retiredAt: expect.any(String) });

    const submit = await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email' } });
    expectProblem(submit, 409, ['/templateId']);
    expect(submit.body.type).toBe('urn:docket:problem:template-retired');
    expect(submit.body.errors[0].message).toContain('retired');
    expectProblem(await call('POST', '/v1/jobs/bulk', { token, body: { jobs: [{ type: 'a' }, { templateId: 'welcome-email' }] } }), 409, ['/jobs/1/templateId']);
    expectProblem(await call('POST', '/v1/templates/welcome-email/versions', { token, body: { defaults: WELCOME.defaults } }), 409);

    expect((await call('GET', '/v1/templates/welcome-email', { token })).body).toMatchObject({ retired: true, defaults: WELCOME.defaults });
    expect((await call('GET', '/v1/templates/welcome-email/versions/1', { token })).body).toMatchObject({ retired: true });
    expect((await call('GET', '/v1/templates', { token })).body.templates).toHaveLength(1);
  });

  it('deletes an unused template; one that jobs came from is refused (409: retire it) until retired and its jobs are gone', async () => {
    const d = await start();
    const token = await tokenFor('acme', ['submitter']);
    await call('POST', '/v1/templates', { token, body: { id: 'scratch', defaults: { type: 'noop' } } });
    const del = await call('DELETE', '/v1/templates/scratch', { token });
    expect(del.status, del.text).toBe(204);
    expectProblem(await call('GET', '/v1/templates/scratch', { token }), 404);
    expectProblem(await call('DELETE', '/v1/templates/scratch', { token }), 404);

    await call('POST', '/v1/templates', { token, body: WELCOME });
    const job = (await call('POST', '/v1/jobs', { token, body: { templateId: 'welcome-email' } })).body;
    const inUse = await call('DELETE', '/v1/templates/welcome-email', { token });
    expectProblem(inUse, 409);
    expect(inUse.body.type).toBe('urn:docket:problem:template-in-use');
    expect(inUse.body.detail).toContain('retire it instead');

    await call('POST', '/v1/templates/welcome-email/retire', { token });
    const stillJobs = await call('DELETE', '/v1/templates/welcome-email', { token });
    expectProblem(stillJobs, 409);
    expect(stillJobs.body.detail).toContain('jobs created from it are still stored');

    await d.jobs.cancels.cancel(job.id);
    await d.jobs.deadLetters.purge([job.id]);
    expect((await call('DELETE', '/v1/templates/welcome-email', { token })).status).toBe(204);
  });
});

engines.onBoth('template validation', () => {
  it('names every bad field of a template and refuses a taken id', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    expectProblem(await call('POST', '/v1/templates', { token, body: { id: 'bad', defaults: { type: 'x', priority: 11 } } }), 400, ['/defaults/priority']);
    expectProblem(await call('POST', '/v1/templates', { token, body: { id: 'bad', defaults: { priority: 2 } } }), 400, ['/defaults/type']);
    expectProblem(await call('POST', '/v1/templates', { token, body: { id: 'has space', defaults: { type: 'x' } } }), 400, ['/id']);
    expectProblem(await call('POST', '/v1/templates', { token, body: { id: 'abs', defaults: { type: 'x', runAt: '2030-01-01T00:00:00Z' } } }), 400, ['/defaults/runAt']);
    expectProblem(await call('POST', '/v1/templates', { token, body: { id: 'x', defaults: { type: 'x' }, extra: 1 } }), 400, ['/extra']);

    expect((await call('POST', '/v1/templates', { token, body: { id: 'ok', defaults: { type: 'x' } } })).status).toBe(201);
    const taken = await call('POST', '/v1/templates', { token, body: { id: 'ok', defaults: { type: 'y' } } });
    expectProblem(taken, 409, ['/id']);
    expect(taken.body.detail).toContain('POST /v1/templates/ok/versions');
    expectProblem(await call('POST', '/v1/templates/nope/versions', { token, body: { defaults: { type: 'x' } } }), 404);
  });

  it('checks defaults in the service too (SDK and embedded callers), with the same paths', async () => {
    const d = await start();
    const templates = d.jobs.templates!;
    await expect(templates.create('acme', { id: 't', defaults: { type: 'x', expiresAt: '2030-01-01T00:00:00Z', timeoutMs: 0 } })).rejects.toMatchObject({
      issues: [{ path: '/defaults/expiresAt' }],
    });
    await expect(templates.create('acme', { id: 't', defaults: { type: 'x', timeoutMs: 0 } })).rejects.toMatchObject({ issues: [{ path: '/defaults/timeoutMs' }] });
    await expect(templates.create('acme', { id: 't', defaults: { type: 'x', expiresInMs: -1 } })).rejects.toMatchObject({ issues: [{ path: '/defaults/expiresInMs' }] });
    await expect(templates.create('acme', { id: 't' })).rejects.toMatchObject({ issues: [{ path: '/defaults' }] });
  });
});

engines.onBoth('tenants', () => {
  it("keeps each tenant's templates to itself; an admin acts for a tenant with docket-tenant", async () => {
    await start();
    const acme = await tokenFor('acme', ['submitter']);
    const globex = await tokenFor('globex', ['submitter']);
    await call('POST', '/v1/templates', { token: acme, body: WELCOME });

    expectProblem(await call('GET', '/v1/templates/welcome-email', { token: globex }), 404);
    expect((await call('GET', '/v1/templates', { token: globex })).body.templates).toEqual([]);
    const submit = await call('POST', '/v1/jobs', { token: globex, body: { templateId: 'welcome-email' } });
    expectProblem(submit, 400, ['/templateId']);
    expectProblem(await call('POST', '/v1/templates/welcome-email/retire', { token: globex }), 404);
    expectProblem(await call('DELETE', '/v1/templates/welcome-email', { token: globex }), 404);

    // The same id is another template in another tenant.
    await call('POST', '/v1/templates', { token: globex, body: { id: 'welcome-email', defaults: { type: 'globex.mail' } } });
    expect((await call('POST', '/v1/jobs', { token: globex, body: { templateId: 'welcome-email' } })).body).toMatchObject({ type: 'globex.mail', tenant: 'globex' });
    expect((await call('POST', '/v1/jobs', { token: acme, body: { templateId: 'welcome-email' } })).body).toMatchObject({ type: 'email.send', tenant: 'acme' });

    const admin = await tokenFor('ops', ['admin']);
    expectProblem(await call('GET', '/v1/templates/welcome-email', { token: admin }), 404);
    const asAcme = await call('GET', '/v1/templates/welcome-email', { token: admin, headers: { 'docket-tenant': 'acme' } });
    expect(asAcme.body).toMatchObject({ tenant: 'acme', defaults: { type: 'email.send' } });
    const job = await call('POST', '/v1/jobs', { token: admin, body: { templateId: 'welcome-email' }, headers: { 'docket-tenant': 'globex' } });
    expect(job.body).toMatchObject({ tenant: 'globex', type: 'globex.mail' });
  });
});

engines.onBoth('the SDK', () => {
  it('creates, versions, lists, reads, retires and deletes templates, and submits from one', async () => {
    await start();
    const client = new DocketClient({ baseUrl: base, token: await tokenFor('acme', ['submitter']) });
    await client.templates.create({ id: 'a', defaults: { type: 'noop' } });
    await client.templates.create({ id: 'b', description: 'B', defaults: { type: 'echo', payload: { x: 1 } } });
    expect((await client.templates.addVersion('b', { defaults: { type: 'echo', payload: { x: 2 } } })).version).toBe(2);
    const page = await client.templates.list({ limit: 1 });
    expect(page).toMatchObject({ templates: [{ id: 'a' }], nextCursor: 'a' });
    expect((await client.templates.list({ cursor: 'a' })).templates.map((t) => t.id)).toEqual(['b']);
    expect((await client.templates.version('b', 1)).defaults).toEqual({ type: 'echo', payload: { x: 1 } });

    const job = await client.submit({ templateId: 'b', templateVersion: 1, payload: { y: true } });
    expect(job).toMatchObject({ type: 'echo', payload: { x: 1, y: true }, templateId: 'b', templateVersion: 1 });
    expect((await client.list({ templateId: 'b' })).jobs.map((j) => j.id)).toEqual([job.id]);

    await client.templates.delete('a');
    const refused = await client.templates.delete('b').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DocketApiError);
    expect((refused as DocketApiError).status).toBe(409);
    expect((await client.templates.retire('b')).retired).toBe(true);
    expect((await client.templates.get('b')).versions).toHaveLength(2);
  });
});

engines.onBoth('the CLI', () => {
  /** Runs a CLI command in this process against the test server; returns what it printed as JSON. */
  async function cli(command: () => Command, token: string, ...args: string[]): Promise<any> {
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    try {
      await command().exitOverride().parseAsync([...args, '--url', base, '--token', token], { from: 'user' });
    } finally {
      write.mockRestore();
    }
    return JSON.parse(out);
  }

  it('docket templates create|version|get|list|retire|delete and docket submit --template', async () => {
    await start();
    const token = await tokenFor('acme', ['submitter']);
    const created = await cli(templatesCommand, token, 'create', 'nightly', '--defaults', '{"type":"report","queue":"reports","payload":{"format":"pdf"}}', '--description', 'nightly report');
    expect(created).toMatchObject({ id: 'nightly', version: 1, description: 'nightly report' });
    expect(await cli(templatesCommand, token, 'version', 'nightly', '--defaults', '{"type":"report","queue":"reports","payload":{"format":"csv"}}')).toMatchObject({ version: 2 });
    expect(await cli(templatesCommand, token, 'get', 'nightly', '--version', '1')).toMatchObject({ version: 1, defaults: { payload: { format: 'pdf' } } });
    expect((await cli(templatesCommand, token, 'list')).templates.map((t: { id: string }) => t.id)).toEqual(['nightly']);

    const job = await cli(submitCommand, token, '--template', 'nightly', '--template-version', '1', '--payload', '{"day":"2026-01-31"}', '--priority', '2');
    expect(job).toMatchObject({ type: 'report', queue: 'reports', priority: 2, payload: { format: 'pdf', day: '2026-01-31' }, templateId: 'nightly', templateVersion: 1 });

    expect(await cli(templatesCommand, token, 'retire', 'nightly')).toMatchObject({ retired: true });
    await cli(templatesCommand, token, 'create', 'scratch', '--defaults', '{"type":"noop"}');
    expect(await cli(templatesCommand, token, 'delete', 'scratch')).toEqual({ id: 'scratch', deleted: true });
  });
});
