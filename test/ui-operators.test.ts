// The dashboard for operators of many tenants (issue 23), in Debian's Chromium against `docket
// server` run as a user runs it: a job's log followed live, tenants told apart for admins, search
// by payload field, bulk actions with a count, retry in place, foldable JSON with copy, readable
// charts, every worker listed, and a phone-width layout. Screenshots go to test-results/screenshots
// (the ones in docs/ui/ come from here).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, tokenFor } from './helpers/auth.js';
import { cleanUp, startServer, tempDir, type Server } from './helpers/cli.js';
import { until } from './helpers/process.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = 'test-results/screenshots';
const STEP_MS = 20_000;
const TEST_MS = 120_000;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.skipIf(!existsSync(CHROMIUM))('dashboard for operators, in headless Chromium', () => {
  let server: Server | undefined;
  let browser: Browser | undefined;
  let url = '';
  const tokens: Record<'acme' | 'acmeWorker' | 'globex' | 'globexWorker' | 'initech' | 'admin', string> = { acme: '', acmeWorker: '', globex: '', globexWorker: '', initech: '', admin: '' };

  async function call(token: string, method: string, path: string, body?: unknown): Promise<Json> {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Json) : {};
  }

  /** A job of `tenant` in `queue`, claimed by its worker token; returns id and lease token. */
  async function claimed(tenant: 'acme' | 'globex', queue: string, payload: object, maxAttempts = 1): Promise<{ id: string; leaseToken: string }> {
    // Priority 1: claimed before any job an earlier test put back in the queue.
    const submitted = await call(tokens[tenant], 'POST', '/v1/jobs', { type: 'charge', queue, maxAttempts, priority: 1, payload });
    const worker = tenant === 'acme' ? tokens.acmeWorker : tokens.globexWorker;
    const { jobs } = await call(worker, 'POST', `/v1/queues/${queue}/claim`, { workerId: `${tenant}-fleet`, max: 1 });
    expect(jobs[0]?.id).toBe(submitted.id);
    return { id: submitted.id, leaseToken: jobs[0].leaseToken };
  }

  async function failed(tenant: 'acme' | 'globex', queue: string, payload: object, extra: object = { retryable: false }, maxAttempts = 1): Promise<string> {
    const j = await claimed(tenant, queue, payload, maxAttempts);
    await call(tenant === 'acme' ? tokens.acmeWorker : tokens.globexWorker, 'POST', `/v1/jobs/${j.id}/fail`, { leaseToken: j.leaseToken, error: { message: 'card declined' }, ...extra });
    return j.id;
  }

  async function signedIn(token: string, viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({ viewport, deviceScaleFactor: 1 });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${url}/`);
    await page.waitForURL(/\/sign-in/);
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Overview")');
    await page.waitForSelector('.live-live');
    return { context, page };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer(tempDir(), undefined, { DOCKET_JWT_SECRET: TEST_SECRET });
    url = server.url;
    tokens.acme = await tokenFor('acme', ['submitter', 'viewer'], 3600, 'ana@acme');
    tokens.acmeWorker = await tokenFor('acme', ['worker'], 3600, 'acme-fleet');
    tokens.globex = await tokenFor('globex', ['submitter', 'viewer'], 3600, 'gil@globex');
    tokens.globexWorker = await tokenFor('globex', ['worker'], 3600, 'globex-fleet');
    tokens.initech = await tokenFor('initech', ['submitter', 'viewer'], 3600, 'ian@initech');
    tokens.admin = await tokenFor('ops', ['admin'], 3600, 'ops');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    await cleanUp();
  }, 30_000);

  it('follows a running job\'s log live on its page, then shows it finished', async () => {
    const job = await claimed('acme', 'reports', { month: '2026-11' });
    const send = (message: string, level = 'info', fields?: object) =>
      call(tokens.acmeWorker, 'POST', `/v1/jobs/${job.id}/logs`, { leaseToken: job.leaseToken, lines: [{ at: new Date().toISOString(), level, message, ...(fields ? { fields } : {}) }] });
    await send('loading invoices', 'info', { month: '2026-11' });
    const { context, page } = await signedIn(tokens.acme);
    try {
      await page.goto(`${url}/jobs/${job.id}`);
      await page.waitForSelector('[data-testid=logs] .log-line:has-text("loading invoices")');
      await page.waitForSelector('[data-testid=logs-status]:has-text("following live")');
      // New lines show up without a page load.
      await send('invoice 17 has no customer', 'warn', { invoice: 17 });
      await page.waitForSelector('[data-testid=logs] .log-line[data-level=warn]:has-text("invoice 17 has no customer")');
      expect(await page.textContent('[data-testid=logs]')).toContain('{"invoice":17}');
      // Filtered to warnings, the info line goes.
      await page.selectOption('select[aria-label="least level"]', 'warn');
      await until('the info line to be filtered out', async () => ((await page.locator('[data-testid=logs] .log-line').count()) === 1 ? true : undefined));
      await page.selectOption('select[aria-label="least level"]', '');
      await page.waitForSelector('[data-testid=logs] .log-line:has-text("loading invoices")');
      await shot(page, 'job-logs-live');
      await call(tokens.acmeWorker, 'POST', `/v1/jobs/${job.id}/complete`, { leaseToken: job.leaseToken, result: { invoices: 412 } });
      await page.waitForSelector('[data-testid=logs-status]:has-text("job finished")');
      expect(await page.locator('[data-testid=logs] .log-line').count()).toBe(2);
    } finally {
      await context.close();
    }
  }, TEST_MS);

  it('shows the lines of a handler of docket server\'s own worker, after the fact', async () => {
    const job = await call(tokens.acme, 'POST', '/v1/jobs', { type: 'sleep', payload: { ms: 200 } });
    await until('the sleep job to finish', async () => ((await call(tokens.acme, 'GET', `/v1/jobs/${job.id}`)).state === 'succeeded' ? true : undefined));
    const { context, page } = await signedIn(tokens.acme);
    try {
      await page.goto(`${url}/jobs/${job.id}`);
      await page.waitForSelector('[data-testid=logs-status]:has-text("job finished")');
      expect(await page.locator('[data-testid=logs] .log-line').count()).toBe(10);
      expect(await page.textContent('[data-testid=logs] .log-line >> nth=9')).toContain('step 10 of 10 done');
    } finally {
      await context.close();
    }
  }, TEST_MS);

  it('tells tenants apart for an admin: a tenant column and filter on jobs, dead letters, conditions and workers', async () => {
    await failed('acme', 'payments', { n: 1 });
    await failed('globex', 'payments', { n: 2 });
    // Parked jobs of both tenants under one condition, in queues of the same name: acme's handler
    // reports the condition; the jobs claimed after it are held at the condition's gate. Two of each,
    // so that one taken out as the condition's probe leaves each tenant some.
    await failed('acme', 'payments', { n: 3 }, { condition: 'service:payments-api' }, 5);
    for (const [tenant, worker] of [['acme', tokens.acmeWorker], ['globex', tokens.globexWorker], ['globex', tokens.globexWorker]] as const) {
      const gated = await call(tokens[tenant], 'POST', '/v1/jobs', { type: 'charge', queue: 'payments', priority: 1, maxAttempts: 5, payload: { gated: true } });
      expect((await call(worker, 'POST', '/v1/queues/payments/claim', { workerId: `${tenant}-fleet`, max: 1 })).jobs).toEqual([]);
      expect((await call(tokens[tenant], 'GET', `/v1/jobs/${gated.id}`)).state).toBe('blocked');
    }
    await call(tokens.acmeWorker, 'POST', '/v1/workers', { queues: ['payments'], name: 'acme-payments' });

    const { context, page } = await signedIn(tokens.admin);
    try {
      expect(await page.textContent('.subtitle')).toContain('Queues of every tenant');
      await page.goto(`${url}/jobs?queue=payments`);
      await page.waitForSelector('[data-testid=jobs-table] th:has-text("Tenant")');
      const tenants = await page.locator('[data-testid=jobs-table] [data-testid=tenant-cell]').allTextContents();
      expect(new Set(tenants)).toEqual(new Set(['acme', 'globex']));
      await page.fill('input[name=tenant]', 'globex');
      await page.click('form.filters button[type=submit]');
      await until('only globex jobs', async () => {
        const cells = await page.locator('[data-testid=jobs-table] [data-testid=tenant-cell]').allTextContents();
        return cells.length > 0 && cells.every((c) => c === 'globex') ? true : undefined;
      });

      await page.goto(`${url}/dead-letters`);
      await page.waitForSelector('[data-testid=dead-letters-table] th:has-text("Tenant")');
      expect(new Set(await page.locator('[data-testid=dead-letters-table] [data-testid=tenant-cell]').allTextContents())).toEqual(new Set(['acme', 'globex']));

      await page.goto(`${url}/conditions`);
      await page.waitForSelector('[data-testid=conditions-table]');
      const tags = async () => (await page.locator('[data-testid=parked-tag]').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
      // Each tenant's parked jobs on a tag of their own, the tenant named: no more "payments 1" twice.
      await until('both tenants parked', async () => {
        const now = await tags();
        return now.some((t) => /^acme · payments \d+$/.test(t)) && now.some((t) => /^globex · payments \d+$/.test(t)) ? true : undefined;
      });
      await page.selectOption('[data-testid=conditions-tenant]', 'acme');
      await until('only acme parked', async () => ((await tags()).every((t) => t.startsWith('acme · ')) ? true : undefined));
      await shot(page, 'conditions-admin');

      // Every worker: docket server's own in-process one and the remote one, each with its tenant.
      await page.goto(`${url}/workers`);
      await page.waitForSelector('[data-testid=workers-table]');
      const rows = await page.locator('[data-testid=workers-table] tbody tr').allTextContents();
      expect(rows.some((r) => r.includes('in-process') && r.includes('every tenant') && r.includes('active'))).toBe(true);
      expect(rows.some((r) => r.includes('acme-payments') && r.includes('acme'))).toBe(true);
      await page.selectOption('[data-testid=workers-tenant]', 'acme');
      await until('only the acme worker', async () => ((await page.locator('[data-testid=workers-table] tbody tr').count()) === 1 ? true : undefined));
      await page.selectOption('[data-testid=workers-tenant]', '');
      await shot(page, 'workers-admin');
    } finally {
      await context.close();
    }
    // A tenant's own user reads about its own tenant.
    const acme = await signedIn(tokens.acme);
    try {
      expect(await acme.page.textContent('.subtitle')).toContain('Queues of your tenant');
      await acme.page.goto(`${url}/jobs`);
      await acme.page.waitForSelector('[data-testid=jobs-table]');
      expect(await acme.page.locator('[data-testid=jobs-table] th:has-text("Tenant")').count()).toBe(0);
    } finally {
      await acme.context.close();
    }
  }, TEST_MS);

  it('finds a tenant\'s failing jobs by a payload field and retries all of them in one action, after a confirmation with the count', async () => {
    // Fifty-one like it: more than one page of the list (25), so "all matching" must reach past it.
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push(await failed('acme', 'billing', { customer: { id: 'c-42' }, invoice: i }));
    const unmatched = await failed('acme', 'billing', { customer: { id: 'c-7' } });
    const { context, page } = await signedIn(tokens.acme);
    try {
      await page.goto(`${url}/jobs`);
      await page.fill('input[name=payload]', 'customer.id=c-42');
      await page.selectOption('form.filters select[name=state]', 'failed');
      await page.click('form.filters button[type=submit]');
      await until('a full first page of matching jobs', async () => ((await page.locator('[data-testid=jobs-table] tbody tr').count()) === 25 ? true : undefined));
      await page.click('[data-testid=bulk-retry]');
      await page.waitForSelector('[role=dialog]');
      expect(await page.textContent('[data-testid=bulk-count]')).toContain('51 jobs of the filter that failed');
      await shot(page, 'jobs-bulk-confirm');
      await page.click('[role=dialog] button.btn-primary');
      // The action runs on the server for all of them (one transition each): generous on a loaded machine.
      await page.waitForSelector('[data-testid=bulk-notice]:has-text("51 jobs retried")', { timeout: 60_000 });
      for (const id of ids) expect((await call(tokens.acme, 'GET', `/v1/jobs/${id}`)).state).not.toBe('failed');
      expect((await call(tokens.acme, 'GET', `/v1/jobs/${unmatched}`)).state).toBe('failed');

      // One selected job: the count says one.
      const other = await failed('acme', 'billing-other', { customer: { id: 'c-9' } });
      await page.goto(`${url}/jobs?queue=billing-other&state=failed`);
      await page.waitForSelector(`tr[data-job-id="${other}"]`);
      await page.check(`tr[data-job-id="${other}"] input[type=checkbox]`);
      await page.click('[data-testid=bulk-delete]');
      await page.waitForSelector('[role=dialog]');
      expect(await page.textContent('[data-testid=bulk-count]')).toContain('1 job of the selection that have finished');
      await page.click('[role=dialog] button.btn-danger');
      await page.waitForSelector('[data-testid=bulk-notice]:has-text("1 job deleted")');

      // Open a job by its id.
      await page.fill('input[name=id]', ids[0]!);
      await page.click('form.search button');
      await page.waitForURL(new RegExp(`/jobs/${ids[0]}$`));
    } finally {
      await context.close();
    }
  }, TEST_MS);

  it('retries a failed job in place from its page, and shows payload and result as foldable JSON with copy', async () => {
    const id = await failed('acme', 'refunds', { customer: { id: 'c-1', address: { city: 'Lyon', lines: ['1 rue X'] } }, amounts: [1, 2, 3] });
    const { context, page } = await signedIn(tokens.acme);
    try {
      await page.goto(`${url}/jobs/${id}`);
      await page.waitForSelector('[data-testid=json-payload]');
      // Two levels open; the address (third level) starts folded, and unfolds on a click.
      expect(await page.textContent('[data-testid=json-payload]')).toContain('"customer"');
      expect(await page.textContent('[data-testid=json-payload]')).not.toContain('Lyon');
      await page.click('[data-testid=json-payload] .json-folded >> nth=0');
      await page.waitForSelector('[data-testid=json-payload] :text("\\"Lyon\\"")');
      await page.click('[data-testid=json-payload] .json-copy');
      await page.waitForSelector('[data-testid=json-payload] .json-copy:has-text("Copied")');
      expect(JSON.parse(await page.evaluate<string>('navigator.clipboard.readText()'))).toEqual({ customer: { id: 'c-1', address: { city: 'Lyon', lines: ['1 rue X'] } }, amounts: [1, 2, 3] });
      await shot(page, 'job-json');

      await page.click('[data-testid=retry-job]');
      await page.waitForSelector('h1 .badge-ready, h1 .badge-running, h1 .badge-failed >> nth=0');
      await until('the job to be retried in place', async () => ((await call(tokens.acme, 'GET', `/v1/jobs/${id}`)).state !== 'failed' ? true : undefined));
      expect((await call(tokens.acme, 'GET', `/v1/jobs/${id}`)).id).toBe(id);
    } finally {
      await context.close();
    }
  }, TEST_MS);

  it('charts rates per second on a square-root scale, and colours the failure rate by its value', async () => {
    // 200 jobs run by docket server's own worker, one failure among them.
    await call(tokens.initech, 'POST', '/v1/jobs/bulk', { jobs: Array.from({ length: 200 }, (_, i) => ({ type: 'echo', payload: { i } })) });
    await call(tokens.initech, 'POST', '/v1/jobs', { type: 'fail', payload: {}, maxAttempts: 1 });
    await until('the 201 jobs to finish', async () => {
      const { queues } = await call(tokens.initech, 'GET', '/v1/queues/stats?minutes=60');
      const q = queues.find((x: Json) => x.name === 'default');
      return q && q.finished.succeeded >= 200 && q.finished.failed >= 1 ? true : undefined;
    });
    const { context, page } = await signedIn(tokens.initech);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    try {
      await page.reload();
      await page.waitForSelector('.chart-title:has-text("jobs per second, square-root scale")');
      // Both charts drew, with their y axis: the rates' ticks are per second.
      await until('the throughput chart to draw its axes', async () => ((await page.locator('[aria-label="jobs finished per second in queue default"] .u-axis').count()) === 2 ? true : undefined), 10_000);
      expect(errors, errors.join("\n")).toEqual([]);
      // 1 failure in 201: under 1 %, green, not red.
      const card = page.locator('.stat:has(.stat-label:has-text("Failure rate"))');
      expect(await card.getAttribute('class')).toContain('stat-good');
      expect(await card.locator('.stat-value').textContent()).toBe('0.5 %');
      await shot(page, 'overview-rates');
    } finally {
      await context.close();
    }
  }, TEST_MS);

  it('fits a phone: the sidebar folds into a menu and nothing is cut off at 400 px', async () => {
    const { context, page } = await signedIn(tokens.admin, { width: 400, height: 800 });
    try {
      expect(await page.isVisible('.sidebar nav')).toBe(false);
      await page.click('[data-testid=menu-toggle]');
      await page.click('.sidebar nav a:has-text("Jobs")');
      await page.waitForSelector('h1:has-text("Jobs")');
      expect(await page.isVisible('.sidebar nav')).toBe(false);
      for (const path of ['/', '/jobs', '/dead-letters', '/workers']) {
        await page.goto(`${url}${path}`);
        await page.waitForSelector('h1');
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow, `${path} is wider than the screen`).toBeLessThanOrEqual(0);
      }
      await page.goto(`${url}/jobs`);
      await page.waitForSelector('[data-testid=jobs-table]');
      await shot(page, 'phone-jobs');
    } finally {
      await context.close();
    }
  }, TEST_MS);
});
