// The web dashboard in a real browser: Debian's Chromium driven by playwright-core (never a
// downloaded browser), against `docket server` run as a user runs it (a child process on a temp
// data dir, the built dist/ and dist/ui). Screenshots of the main pages go to
// test-results/screenshots/ for a reviewer (not committed).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, tokenFor } from './helpers/auth.js';
import { cleanEnv, freePort, until } from './helpers/process.js';
import { needTool } from './helpers/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = 'test-results/screenshots';
const UI_INDEX = 'dist/ui/index.html';
const VIEWPORT = { width: 1280, height: 800 };
/** Longest wait for one thing on the page; a test gets several. */
const STEP_MS = 20_000;
const TEST_MS = 90_000;

if (!existsSync(CHROMIUM)) {
  console.warn(`ui-browser.test.ts: SKIPPED: no Chromium at ${CHROMIUM}. Install Debian's: apt-get install chromium (.ci/run does).`);
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const hasChromium = needTool('ui-browser.test.ts', `Chromium (${CHROMIUM})`, existsSync(CHROMIUM), 'apt-get install -y chromium');

describe.skipIf(!hasChromium)('web dashboard in headless Chromium', () => {
  let server: Proc | undefined;
  let browser: Browser | undefined;
  let dataDir = '';
  let url = '';
  const tokens: Record<'acme' | 'acmeWorker' | 'globex' | 'admin', string> = { acme: '', acmeWorker: '', globex: '', admin: '' };

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
  const job = (token: string, id: string) => call(token, 'GET', `/v1/jobs/${id}`);

  /** A dead letter of acme in `queue`: claimed by a remote worker and failed for good. */
  async function deadLetter(queue: string, type: string, message: string, code?: string): Promise<string> {
    const submitted = await call(tokens.acme, 'POST', '/v1/jobs', { type, queue, maxAttempts: 1, payload: { invoice: Math.floor(Math.random() * 9000) + 1000 } });
    const { jobs } = await call(tokens.acmeWorker, 'POST', `/v1/queues/${queue}/claim`, { workerId: 'ui-test-worker', max: 1 });
    expect(jobs[0].id).toBe(submitted.id);
    await call(tokens.acmeWorker, 'POST', `/v1/jobs/${submitted.id}/fail`, { leaseToken: jobs[0].leaseToken, error: { message, ...(code ? { code } : {}) }, retryable: false });
    return submitted.id as string;
  }

  async function signedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
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

  /** A client-side navigation through the sidebar (no page load). */
  async function nav(page: Page, label: string, heading = label) {
    await page.click(`.sidebar a:has-text("${label}")`);
    await page.waitForSelector(`h1:has-text("${heading}")`);
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(UI_INDEX)) throw new Error(`${UI_INDEX} is missing: build the dashboard first (npm run build; npm test does it)`);
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'docket-ui-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = start(process.execPath, ['bin/docket', 'server'], cleanEnv({ DOCKET_DATA_DIR: dataDir, PORT: String(port), DOCKET_JWT_SECRET: TEST_SECRET }));
    await until('GET /healthz', async () => {
      if (server!.child.exitCode !== null) throw new Error(`docket server exited with ${server!.child.exitCode}:\n${server!.output()}`);
      const res = await fetch(`${url}/healthz`).catch(() => undefined);
      return res?.ok ? true : undefined;
    });
    tokens.acme = await tokenFor('acme', ['submitter', 'viewer'], 3600, 'ana@acme');
    tokens.acmeWorker = await tokenFor('acme', ['worker'], 3600, 'acme-fleet');
    tokens.globex = await tokenFor('globex', ['submitter', 'viewer'], 3600, 'gil@globex');
    tokens.admin = await tokenFor('ops', ['admin'], 3600, 'ops');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('serves the app at / and its pages, never shadowing the API', async () => {
    const index = await fetch(`${url}/jobs/0199-anything`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<div id="app">');
    const api = await fetch(`${url}/v1/jobs/nope`);
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${url}/no-such-page`)).status).toBe(404);
    expect((await fetch(`${url}/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).headers.get('content-type')).toContain('application/json');
  }, TEST_MS);

  it('signs in with a token, and shows the problem when a token is refused', async () => {
    const context = await browser!.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_MS);
    await page.goto(`${url}/dead-letters`);
    await page.waitForURL(/\/sign-in\?next=%2Fdead-letters/);
    await shot(page, '01-sign-in');

    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await expect(page.textContent('.problem')).resolves.toContain('not a JWT');

    // Well-formed but signed with another secret: the server's problem+json detail is shown.
    const [h, p] = tokens.acme.split('.');
    await page.fill('#token', `${h}.${p}.${'A'.repeat(43)}`);
    await page.click('button[type=submit]');
    await page.waitForSelector('.problem:has-text("401")');
    expect(await page.textContent('.problem')).toMatch(/signature/i);

    await page.fill('#token', tokens.acme);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Dead letters")'); // back where it was going
    expect(await page.textContent('[data-testid=who]')).toContain('acme');
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem('docket.token'))).toBe(tokens.acme);
    await context.close();
  }, TEST_MS);

  it('shows a job submitted from the API appear, run and finish live, without a page load', async () => {
    const { context, page } = await signedIn(tokens.acme);
    await nav(page, 'Jobs');
    await page.waitForSelector('.live-live');
    // Set in the page: a page load would lose it.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

    const submitted = await call(tokens.acme, 'POST', '/v1/jobs', { type: 'sleep', payload: { ms: 2500 }, labels: { team: 'billing' } });
    const row = `tr[data-job-id="${submitted.id}"]`;
    await page.waitForSelector(row, { timeout: 10_000 });
    await page.waitForSelector(`${row}[data-state="running"]`, { timeout: 10_000 });
    await page.waitForSelector(`${row}[data-state="succeeded"]`, { timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);

    await page.click(`${row} a`);
    await page.waitForSelector('h1:has-text("sleep")');
    await page.waitForSelector('[data-testid=timeline] :text("Succeeded")');
    const timeline = await page.textContent('[data-testid=timeline]');
    for (const step of ['Submitted', 'Started', 'Progress', 'Succeeded']) expect(timeline).toContain(step);
    expect(await page.textContent('[data-testid=json-result]')).toContain('"sleptMs": 2500');
    expect(page.url()).toBe(`${url}/jobs/${submitted.id}`);
    await shot(page, '04-job-succeeded');
    await context.close();
  }, TEST_MS);

  it('cancels a running job from its page, after a confirmation', async () => {
    const { context, page } = await signedIn(tokens.acme);
    const long = await call(tokens.acme, 'POST', '/v1/jobs', { type: 'sleep', payload: { ms: 120_000 } });
    await page.click('.sidebar a:has-text("Jobs")');
    await page.click(`tr[data-job-id="${long.id}"] a`);
    await page.waitForSelector('h1 .badge-running', { timeout: 10_000 });
    await page.click('[data-testid=cancel-job]');
    await page.waitForSelector('[role=dialog]');
    await page.click('[role=dialog] button:has-text("Cancel job")');
    await page.waitForSelector('h1 .badge-cancelled', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=timeline] :text("Cancelled")');
    expect(await job(tokens.acme, long.id)).toMatchObject({ state: 'cancelled', stateReason: 'cancelled_by_user' });
    await shot(page, '05-job-cancelled');
    await context.close();
  }, TEST_MS);

  it('requeues a dead letter, after a confirmation', async () => {
    const id = await deadLetter('invoices', 'invoice.render', 'template "net-30" not found', 'E_TEMPLATE');
    await deadLetter('invoices', 'invoice.send', 'SMTP 554: mailbox unavailable', 'SMTP_554');
    await deadLetter('payouts', 'payout.transfer', 'gateway timeout after 30000 ms', 'ETIMEDOUT');
    const { context, page } = await signedIn(tokens.acme);
    await nav(page, 'Dead letters');
    await page.waitForSelector(`tr[data-job-id="${id}"]`);
    await shot(page, '06-dead-letters');

    await page.check(`tr[data-job-id="${id}"] input[type=checkbox]`);
    await page.click('[data-testid=requeue-selected]');
    await page.waitForSelector('[role=dialog]:has-text("1 selected job")');
    await page.click('[role=dialog] button:has-text("Requeue")');
    await page.waitForSelector('.notice:has-text("1 job(s) requeued")');
    await until('the requeued row to leave the list', async () => ((await page.$(`tr[data-job-id="${id}"]`)) === null ? true : undefined), 10_000);
    // No worker serves "invoices": the job waits there with a fresh attempt budget.
    expect(await job(tokens.acme, id)).toMatchObject({ state: 'ready', attempt: 0, stateReason: 'requeued' });
    await context.close();
  }, TEST_MS);

  it('shows each tenant only its own jobs and queues', async () => {
    const theirs = await call(tokens.globex, 'POST', '/v1/jobs', { type: 'report.build', queue: 'globex-reports' });
    const ours = await call(tokens.acme, 'POST', '/v1/jobs', { type: 'report.build', queue: 'acme-reports' });

    const acme = await signedIn(tokens.acme);
    await acme.page.waitForSelector('[data-testid=queue-table] :text("acme-reports")');
    expect(await acme.page.textContent('[data-testid=queue-table]')).not.toContain('globex-reports');
    await nav(acme.page, 'Jobs');
    await acme.page.waitForSelector(`tr[data-job-id="${ours.id}"]`);
    expect(await acme.page.$(`tr[data-job-id="${theirs.id}"]`)).toBeNull();
    // Another tenant's job by its address: the API's 404, word for word like a missing job.
    await acme.page.goto(`${url}/jobs/${theirs.id}`);
    await acme.page.waitForSelector('.problem');
    expect(await acme.page.textContent('.problem')).toContain('404');
    expect(await acme.page.textContent('.problem')).toContain(theirs.id);
    await acme.context.close();

    const globex = await signedIn(tokens.globex);
    await globex.page.waitForSelector('[data-testid=queue-table] :text("globex-reports")');
    expect(await globex.page.textContent('[data-testid=queue-table]')).not.toMatch(/acme-reports|invoices|default/);
    await nav(globex.page, 'Jobs');
    await globex.page.waitForSelector(`tr[data-job-id="${theirs.id}"]`);
    expect(await globex.page.$$eval('tr[data-job-id]', (rows) => rows.length)).toBe(1);
    expect(await globex.page.textContent('[data-testid=who]')).toContain('globex');
    await globex.context.close();
  }, TEST_MS);

  it('renders every page for a screenshot', async () => {
    // Some history: a burst of work, a few failures, a DAG, a parked condition, a schedule, a
    // template and a remote worker.
    await call(tokens.acme, 'POST', '/v1/jobs/bulk', { jobs: Array.from({ length: 40 }, (_, i) => ({ type: 'echo', payload: { n: i }, priority: 1 + (i % 9) })) });
    await call(tokens.acme, 'POST', '/v1/jobs/bulk', { jobs: Array.from({ length: 4 }, () => ({ type: 'fail', maxAttempts: 1, payload: { message: 'card declined' } })) });
    const dag = await call(tokens.acme, 'POST', '/v1/jobs/bulk', {
      jobs: [
        { ref: 'extract', type: 'echo', payload: { rows: 3 } },
        { ref: 'transform', type: 'sleep', payload: { ms: 200 }, dependsOn: ['extract'] },
        { ref: 'load-warehouse', type: 'echo', dependsOn: ['transform'] },
        { ref: 'load-search', type: 'echo', dependsOn: ['transform'] },
      ],
    });
    const transform = dag.jobs[1].id as string;
    // Three charges fail on the same unreachable service: they park under one condition.
    await call(tokens.acme, 'POST', '/v1/jobs/bulk', { jobs: [7101, 7102, 7103].map((order) => ({ type: 'charge', queue: 'payments', payload: { order } })) });
    const { jobs: charges } = await call(tokens.acmeWorker, 'POST', '/v1/queues/payments/claim', { workerId: 'ui-test-worker', max: 3 });
    expect(charges).toHaveLength(3);
    for (const c of charges) {
      const error = { message: 'connect ECONNREFUSED payments-api:443', code: 'ECONNREFUSED' };
      await call(tokens.acmeWorker, 'POST', `/v1/jobs/${c.id}/fail`, { leaseToken: c.leaseToken, error, condition: 'service:payments-api' });
    }
    await call(tokens.acme, 'POST', '/v1/schedules', { name: 'nightly-invoices', cron: '0 2 * * *', timezone: 'Europe/Berlin', job: { type: 'invoice.batch', queue: 'invoices' } });
    await call(tokens.acme, 'POST', '/v1/schedules', { name: 'hourly-sync', cron: '15 * * * *', job: { type: 'echo' } });
    const weekly = await call(tokens.acme, 'POST', '/v1/schedules', { name: 'weekly-report', cron: '0 8 * * 1', timezone: 'America/New_York', job: { type: 'report.build', queue: 'acme-reports' } });
    await call(tokens.acme, 'POST', `/v1/schedules/${weekly.id}/pause`);
    await call(tokens.acme, 'POST', '/v1/templates', { id: 'welcome-email', description: 'First mail after sign-up', defaults: { type: 'email.send', queue: 'emails', priority: 3 } });
    await call(tokens.acme, 'POST', '/v1/templates', { id: 'invoice-pdf', defaults: { type: 'invoice.render', queue: 'invoices', maxAttempts: 5 } });
    const fleet = await call(tokens.acmeWorker, 'POST', '/v1/workers', { queues: ['invoices', 'payouts'], capacity: 8, name: 'render-fleet-1' });
    await call(tokens.acme, 'POST', '/v1/jobs/bulk', { jobs: [{ type: 'invoice.render', queue: 'invoices' }, { type: 'invoice.render', queue: 'invoices' }] });
    const { jobs: rendering } = await call(tokens.acmeWorker, 'POST', '/v1/queues/invoices/claim', { workerId: fleet.id, max: 2 });
    await call(tokens.acmeWorker, 'POST', `/v1/jobs/${rendering[0].id}/progress`, { leaseToken: rendering[0].leaseToken, percent: 40, message: 'page 2 of 5' });
    await call(tokens.acmeWorker, 'POST', '/v1/workers', { queues: ['payments'], capacity: 4, name: 'payments-worker' });
    await until('the burst to finish', async () => ((await call(tokens.acme, 'GET', '/v1/queues')).queues.find((q: Json) => q.name === 'default')?.counts.ready === 0 ? true : undefined), 20_000);
    await until('the DAG to finish', async () => ((await job(tokens.acme, dag.jobs[3].id)).state === 'succeeded' ? true : undefined), 20_000);

    const { context, page } = await signedIn(tokens.acme);
    await page.waitForSelector('.chart canvas');
    await page.waitForSelector('[data-testid=queue-table] :text("payments")');
    await shot(page, '02-overview');
    await nav(page, 'Jobs');
    await page.waitForSelector('tr[data-job-id]');
    await shot(page, '03-jobs');
    await page.goto(`${url}/jobs/${transform}`);
    await page.waitForSelector('svg.graph');
    await page.waitForSelector('[data-testid=timeline] :text("Succeeded")');
    await shot(page, '07-job-dependencies');
    await nav(page, 'Conditions', 'Blocked conditions');
    await page.waitForSelector('[data-testid=conditions-table] :text("service:payments-api")');
    await shot(page, '08-conditions');
    await nav(page, 'Schedules');
    await page.waitForSelector('[data-testid=schedules-table] :text("nightly-invoices")');
    await page.click('button:has-text("nightly-invoices")');
    await page.waitForSelector('.upcoming .tag');
    await shot(page, '09-schedules');
    await nav(page, 'Workers');
    await page.waitForSelector('[data-testid=workers-table] :text("2 / 8")');
    await shot(page, '10-workers');
    await call(tokens.acmeWorker, 'POST', `/v1/workers/${fleet.id}/heartbeat`, { jobs: rendering.map((j: Json) => ({ id: j.id, leaseToken: j.leaseToken })) });
    await nav(page, 'Templates');
    await page.waitForSelector('[data-testid=templates-table] :text("welcome-email")');
    await shot(page, '11-templates');
    await nav(page, 'Alerts');
    await page.waitForSelector('[data-testid=alerts-table], .empty');
    await shot(page, '12-alerts');
    await context.close();

    // An admin sees every tenant, and the operator's actions on conditions.
    const admin = await signedIn(tokens.admin);
    await nav(admin.page, 'Conditions', 'Blocked conditions');
    await admin.page.waitForSelector('[data-testid=conditions-table] button:has-text("Drain")');
    await shot(admin.page, '08-conditions-admin');
    await admin.context.close();
  }, TEST_MS);
});
