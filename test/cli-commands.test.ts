// The CLI's commands as a user runs them (bin/docket against one `docket server`): the flags of
// submit, list, queues, workers, webhooks and schedules, what each prints, and each refusal with
// its message and exit code (2 for a usage error, 1 for a failure, 3 for no server, 4 for a
// timeout). Token minting and start-up errors of `docket server` and `docket worker` too.
import { createServer, type Server as HttpServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DocketClient } from '../src/sdk/client.js';
import { cleanUp, docketAs, spawnDocket, startServer, tempDir, type Server } from './helpers/cli.js';
import { freePort, until } from './helpers/process.js';
import { LOCAL_RECEIVERS } from './helpers/webhook-receiver.js';

let server: Server;
let dataDir: string;
/** The server's configuration file. */
let config: string;
let api: DocketClient;
const docket = (...args: string[]) => docketAs(server.token, server.url, ...args);
async function json(...args: string[]) {
  const run = await docket(...args);
  expect(run.code, `docket ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}
/** A run's exit code and stderr, for the refusals. */
const refusal = async (run: Promise<{ code: number | null; stderr: string }>) => {
  const r = await run;
  return [r.code, r.stderr];
};

beforeAll(async () => {
  dataDir = tempDir();
  // The webhooks below go to a receiver on loopback, which the config must open.
  config = join(tempDir(), 'docket.json');
  writeFileSync(config, JSON.stringify({ webhooks: { allowPrivateNetworks: LOCAL_RECEIVERS } }));
  server = await startServer(dataDir, undefined, { DOCKET_CONFIG: config });
  api = new DocketClient({ baseUrl: server.url, token: server.token });
}, 60_000);
afterAll(cleanUp);

const SLOW = { timeout: 240_000 };
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

describe('docket token', SLOW, () => {
  it('mints a token with the roles and tenant asked, and names each bad flag', async () => {
    const mint = (args: string[], env: Record<string, string> = {}) => spawnDocket({ DOCKET_DATA_DIR: dataDir, ...env }, ['token', ...args]).done;
    const [minted, none, king, tenant, expires, noSecret, jwks] = await Promise.all([
      mint(['--role', 'viewer, submitter', '--tenant', 'acme', '--sub', 'ci', '--expires', '1h']),
      mint([]),
      mint(['--role', 'viewer', '--role', 'king,queen']),
      mint(['--role', 'admin', '--tenant', 'no tenant!']),
      mint(['--role', 'admin', '--expires', 'soon']),
      mint(['--role', 'admin', '--data-dir', join(dataDir, 'elsewhere')]),
      mint(['--role', 'admin'], { DOCKET_JWKS: 'https://idp.example/jwks.json' }),
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    const claims = JSON.parse(Buffer.from(minted.stdout.trim().split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'ci', tenant: 'acme', roles: ['viewer', 'submitter'] });
    expect(claims.exp - claims.iat).toBe(3600);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^docket: --role is required: one or more of admin, /);
    expect(king.code).toBe(2);
    expect(king.stderr).toMatch(/^docket: --role king, queen: not a role \(use admin, /);
    expect([tenant.code, tenant.stderr]).toEqual([2, 'docket: --tenant no tenant!: not a valid tenant name\n']);
    expect(expires.code).toBe(2);
    expect(expires.stderr).toMatch(/^docket: --expires: /);
    expect([noSecret.code, noSecret.stderr]).toEqual([2, `docket: no signing secret: set DOCKET_JWT_SECRET, or start \`docket server\` once (it creates ${join(dataDir, 'elsewhere', 'jwt-secret')})\n`]);
    expect([jwks.code, jwks.stderr]).toEqual([2, 'docket: tokens are verified with DOCKET_JWKS: your identity provider issues them, not Docket\n']);

    // The token works, for its tenant only.
    const acme = await docketAs(minted.stdout.trim(), server.url, 'list', '--tenant', 'acme');
    expect(acme.code, acme.stderr).toBe(0);
    expect(JSON.parse(acme.stdout)).toMatchObject({ jobs: [] });
  });
});

describe('docket errors', SLOW, () => {
  it('a refused token says how to get one; a mistyped command suggests the right one; bad server config is a usage error', async () => {
    const port = Number(new URL(server.url).port);
    const [badToken, typo, role, logFormat, portInUse, help, noHandlers] = await Promise.all([
      docketAs('not-a-token', server.url, 'list'),
      docket('lsit'),
      spawnDocket({ DOCKET_DATA_DIR: tempDir() }, ['server', '--role', 'api,chef']).done,
      spawnDocket({ DOCKET_DATA_DIR: tempDir(), DOCKET_LOG_FORMAT: 'xml' }, ['server']).done,
      spawnDocket({ DOCKET_DATA_DIR: tempDir() }, ['server', '--port', String(port), '--no-worker', '--log-format', 'json']).done,
      docket('queues', '--help'),
      docket('worker', '--handlers', '/nonexistent/handlers.js'),
    ]);
    // A handlers module that cannot be loaded: what and why, as a usage error, without a stack trace.
    expect(noHandlers.code).toBe(2);
    expect(noHandlers.stderr).toMatch(/^docket: handlers module \/nonexistent\/handlers\.js: could not be loaded: Cannot find module '\/nonexistent\/handlers\.js'/);
    expect(noHandlers.stderr).not.toContain('    at ');
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('\n  (set DOCKET_TOKEN or pass --token; mint one with `docket token --role admin`)\n');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean list?)');
    expect([role.code, role.stderr]).toEqual([2, 'docket: configuration: --role=api,chef: roles are a comma-separated subset of api, scheduler, worker\n']);
    expect([logFormat.code, logFormat.stderr]).toEqual([2, 'docket: DOCKET_LOG_FORMAT=xml: give pretty or json\n']);
    expect(portInUse.code).toBe(2);
    expect(portInUse.stderr).toContain(`docket: port ${port} on 127.0.0.1 is in use (another docket server?): pick another with --port or PORT\n`);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('pause');
  });
});

describe('docket server flags', SLOW, () => {
  it('without the api role it serves no HTTP and says which roles run; its in-process worker takes --queues and --handlers; OTEL_* turns tracing on', async () => {
    // Tracing to an OTLP endpoint nobody listens on: the server says it exports, and runs regardless.
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` };
    const run = spawnDocket({ DOCKET_LOG_LEVEL: 'info', ...otel }, ['server', '--role', 'scheduler,worker', '--config', config, '--data-dir', tempDir(), '--host', '127.0.0.1', '--lease-ms', '6000', '--handlers', 'examples/handlers.js', '--queues', 'a, b', '--concurrency', '3', '--log-format', 'json']);
    const lines = () => run.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; queues?: string[]; types?: string[]; url?: string });
    const started = await until('the server to start', () => lines().find((l) => l.msg.startsWith('Docket running')), 60_000);
    expect(started.msg).toBe('Docket running (embedded, roles scheduler,worker)');
    expect(started.url).toBeUndefined();
    expect(lines().map((l) => l.msg)).toContain('tracing on: exporting spans (OTEL_* environment, docs/tracing.md)');
    const worker = lines().find((l) => l.msg === 'in-process worker started')!;
    expect(worker.queues).toEqual(['a', 'b']);
    expect(worker.types).toContain('echo');
    run.child.kill('SIGTERM');
    const end = await run.done;
    expect(end.code, end.stderr).toBe(0);
    expect(lines().map((l) => l.msg)).toContain('SIGTERM received, shutting down: 0 running in-process jobs to finish (up to 10 s), then open requests, then the engine\'s loops and connections');
  });
});

describe('docket submit', SLOW, () => {
  it('sends each flag as the job field, notes a dedup hit on stderr, and refuses what it cannot send', async () => {
    const expiresAt = new Date(Date.now() + 7_200_000).toISOString();
    const job = await json('submit', 'echo', '--queue', 'flags', '--priority', '2', '--delay', '3600000', '--timeout', '5000', '--max-attempts', '4', '--link-id', 'L1', '--dedup-key', 'k1', '--dedup-ttl', '60', '--callback-url', 'http://127.0.0.1:9/cb', '--expires-at', expiresAt);
    const first = await json('submit', 'noop', '--queue', 'flags', '--delay', '3600000', '--idempotency-key', 'ik-1');
    expect(job).toMatchObject({ type: 'echo', queue: 'flags', priority: 2, state: 'scheduled', timeoutMs: 5000, maxAttempts: 4, linkId: 'L1' });
    const [again, retried, runAt] = await Promise.all([
      docket('submit', 'echo', '--queue', 'flags', '--dedup-key', 'k1'),
      json('submit', 'noop', '--queue', 'flags', '--delay', '3600000', '--idempotency-key', 'ik-1'),
      json('submit', 'echo', '--queue', 'flags', '--run-at', inAnHour()),
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).id).toBe(job.id);
    expect(again.stderr).toBe(`deduplicated: job ${job.id} (scheduled) already holds this dedup key; nothing was created\n`);
    expect(retried.id).toBe(first.id);
    expect(runAt).toMatchObject({ state: 'scheduled', queue: 'flags' });

    const [noType, version, fileWait, missingFile, waited] = await Promise.all([
      docket('submit'),
      docket('submit', 'echo', '--template-version', '2'),
      docket('submit', '--file', 'jobs.ndjson', '--wait'),
      docket('submit', '--file', '/nonexistent/jobs.ndjson'),
      docket('submit', 'echo', '--queue', 'flags', '--delay', '3600000', '--wait', '--wait-timeout', '1'),
    ]);
    expect([noType.code, noType.stderr]).toEqual([2, 'docket: give a job type (docket submit <type>), --template <id> or --file <jobs.ndjson>\n']);
    expect([version.code, version.stderr]).toEqual([2, 'docket: --template-version needs --template <id>\n']);
    expect([fileWait.code, fileWait.stderr]).toEqual([2, 'docket: --wait is for one job; not with --file\n']);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/^docket: \/nonexistent\/jobs\.ndjson: ENOENT/);
    expect(waited.code).toBe(4);
    const late = JSON.parse(await docket('list', '--queue', 'flags', '--limit', '1').then((r) => r.stdout)).jobs[0];
    expect(waited.stderr).toBe(`docket: job ${late.id} is still scheduled after 1s (it goes on; follow it with \`docket get ${late.id} --watch\`)\n`);
  });

  it('--file submits in batches, skipping blank lines, and says how far it got when the server refuses one', async () => {
    const dir = tempDir();
    const good = join(dir, 'good.ndjson');
    writeFileSync(good, `${JSON.stringify({ type: 'echo', queue: 'bulk' })}\n\n${JSON.stringify({ type: 'echo', queue: 'bulk' })}\n${JSON.stringify({ type: 'echo', queue: 'bulk' })}\n`);
    const refused = join(dir, 'refused.ndjson');
    writeFileSync(refused, `${JSON.stringify({ type: 'echo', queue: 'bulk2' })}\n${JSON.stringify({ templateId: 'no-such-template' })}\n`);
    const [done, stopped] = await Promise.all([docket('submit', '--file', good, '--batch', '2'), docket('submit', '--file', refused, '--batch', '1')]);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ submitted: 3, file: good });
    expect((await api.list({ queue: 'bulk' })).jobs).toHaveLength(3);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/^docket: stopped after 1 of 2 jobs \(lines before that were submitted\): .*no-such-template/);
    expect((await api.list({ queue: 'bulk2' })).jobs).toHaveLength(1);
  });
});

describe('docket list, get, cancel, resubmit, queues, workers', SLOW, () => {
  it('filters by every flag, cancels and resubmits, pauses and resumes a queue', async () => {
    const labelled = await api.submit({ type: 'echo', queue: 'lq', payload: {}, delayMs: 3_600_000, linkId: 'link-7', labels: { team: 'a=b' } } as Parameters<DocketClient['submit']>[0]);
    await api.submit({ type: 'noop', queue: 'lq', payload: {}, delayMs: 3_600_000, labels: { team: 'x' } } as Parameters<DocketClient['submit']>[0]);
    const [found, badLabel, paused] = await Promise.all([
      json('list', '--queue', 'lq', '--state', 'scheduled', '--type', 'echo', '--link-id', 'link-7', '--label', 'team=a=b'),
      docket('list', '--label', '=x'),
      docket('queues', 'pause', 'lq', '-o', 'table'),
    ]);
    const cancelled = await json('cancel', labelled.id);
    expect(found.jobs.map((j: { id: string }) => j.id)).toEqual([labelled.id]);
    expect([badLabel.code, badLabel.stderr]).toEqual([2, 'docket: --label =x: expected name=value\n']);
    expect(cancelled).toMatchObject({ id: labelled.id, state: 'cancelled' });
    expect(paused.stdout.split('\n')[1]!.split(/\s+/).slice(0, 2)).toEqual(['lq', 'true']);
    const [again, resumed, none] = await Promise.all([
      json('resubmit', labelled.id),
      json('queues', 'resume', 'lq'),
      docket('list', '--template', 'no-such-template', '-o', 'table'),
    ]);
    expect(again).toMatchObject({ type: 'echo', resubmittedFrom: labelled.id, linkId: 'link-7' });
    expect(resumed).toMatchObject({ name: 'lq', paused: false });
    expect([none.stdout, none.stderr]).toEqual(['', 'no jobs\n']);
  });

  it('a remote worker with --name, --queues and --concurrency runs jobs, shows in `workers`, and stops on SIGTERM', async () => {
    const worker = spawnDocket({ DOCKET_URL: server.url, DOCKET_TOKEN: server.token, DOCKET_LOG_LEVEL: 'info' }, ['worker', '--handlers', 'examples/handlers.js', '--name', 'cli-w', '--queues', 'wq,wq2', '--concurrency', '2', '--log-format', 'json']);
    await until('the worker to register', async () => ((await api.workers({ queue: 'wq' })).length > 0 ? true : undefined), 60_000);
    const [listed, page, lost, top, waited] = await Promise.all([
      docket('workers', '--queue', 'wq', '-o', 'table'),
      json('workers', '--status', 'active', '--limit', '1'),
      json('workers', '--status', 'lost'),
      json('top', '--once', '-o', 'json'),
      docket('submit', 'echo', '--queue', 'wq', '--payload', '{"hi":1}', '--wait'),
    ]);
    const row = listed.stdout.split('\n')[1]!.split(/\s+/);
    expect(row.slice(1, 5)).toEqual(['cli-w', 'active', 'wq,wq2', '2']);
    expect(page.workers).toHaveLength(1);
    expect(page).toHaveProperty('nextCursor');
    expect(lost).toEqual({ workers: [], nextCursor: null });
    // top --once -o json: the snapshot a frame is drawn from.
    expect(top.workers.map((w: { name: string }) => w.name)).toContain('cli-w');
    expect(top.at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(top).toMatchObject({ queues: expect.any(Array), running: expect.any(Object), alerts: expect.any(Array) });
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ state: 'succeeded', result: { hi: 1 } });
    const next = await json('workers', '--cursor', page.nextCursor ?? '');
    expect(next).toHaveProperty('workers');
    worker.child.kill('SIGTERM');
    const end = await worker.done;
    expect(end.code, end.stderr).toBe(0);
    expect(end.stdout).toContain('"msg":"worker started"');

    const refused = await spawnDocket({ DOCKET_URL: server.url, DOCKET_TOKEN: 'not-a-token' }, ['worker', '--handlers', 'examples/handlers.js']).done;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('(set DOCKET_TOKEN or pass --token');
  });
});

describe('docket webhooks', SLOW, () => {
  let receiver: HttpServer;
  let hookUrl = '';
  beforeAll(async () => {
    receiver = createServer((req, res) => req.resume().on('end', () => res.writeHead(204).end()));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

  it('creates, shows, updates, disables and enables, rotates, tests, lists and deletes a subscription', async () => {
    const created = await json('webhooks', 'create', hookUrl, '--events', 'job.succeeded, job.failed', '--queue', 'hq', '--description', 'ops');
    expect(created).toMatchObject({ url: hookUrl, events: ['job.succeeded', 'job.failed'], queue: 'hq', description: 'ops', enabled: true });
    expect(created.secret).toEqual(expect.any(String));
    const id = created.id as string;
    const watched = await api.submit({ type: 'echo', payload: {}, delayMs: 3_600_000 });
    const [noEvents, nothing, shown, cluster, forJob] = await Promise.all([
      docket('webhooks', 'create', hookUrl, '--events', ' , '),
      docket('webhooks', 'update', id),
      docket('webhooks', 'get', id, '-o', 'table'),
      json('webhooks', 'create', hookUrl, '--cluster', '--events', 'worker.heartbeat-lost'),
      json('webhooks', 'create', hookUrl, '--job', watched.id),
    ]);
    expect([noEvents.code, noEvents.stderr]).toEqual([2, 'docket: --events: give event types, e.g. job.succeeded,job.failed (or * for all)\n']);
    expect([nothing.code, nothing.stderr]).toEqual([2, 'docket: nothing to change: give --hook-url, --events, --description or --disable\n']);
    expect(shown.stdout.split('\n')[1]!.split(/\s{2,}/)).toEqual([id, hookUrl, 'job.succeeded,job.failed', 'true', '0']);
    expect(cluster.tenant).toBe('*');
    expect(forJob).toMatchObject({ scope: 'job', jobId: watched.id });

    const updated = await json('webhooks', 'update', id, '--hook-url', `${hookUrl}2`, '--events', '*', '--description', '', '--disable');
    expect(updated).toMatchObject({ url: `${hookUrl}2`, events: [], enabled: false }); // * is every event: none named
    const [enabled, rotated, tested, deliveries] = await Promise.all([
      json('webhooks', 'enable', id),
      json('webhooks', 'rotate-secret', id),
      json('webhooks', 'test', id),
      json('webhooks', 'deliveries', id, '--status', 'failed', '--limit', '5'),
    ]);
    expect(enabled.enabled).toBe(true);
    expect(rotated.secret).toEqual(expect.any(String));
    expect(rotated.secret).not.toBe(created.secret);
    expect(tested).toMatchObject({ statusCode: 204 });
    expect(deliveries).toMatchObject({ deliveries: [] });

    const [list, listed, gone] = await Promise.all([json('webhooks', 'list', '--for-tenant', 'default'), json('webhooks', 'list'), json('webhooks', 'delete', id)]);
    expect(list.webhooks.map((w: { id: string }) => w.id)).toContain(forJob.id);
    expect(listed.webhooks.map((w: { id: string }) => w.id)).toContain(cluster.id);
    expect(gone).toEqual({ id, deleted: true });
    const missing = await docket('webhooks', 'get', id);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
  });
});

describe('docket schedules', SLOW, () => {
  it('creates from flags or --job with every policy, pages the list, shows fires, and refuses an unclear job', async () => {
    const startAt = inAnHour();
    const endAt = new Date(Date.now() + 86_400_000 * 30).toISOString();
    const [flags, whole, noJob, twoJobs, badJob, badPayload] = await Promise.all([
      json('schedules', 'create', 'nightly', '--cron', '30 2 * * *', '--timezone', 'Europe/Berlin', '--type', 'echo', '--payload', '{"n":1}', '--queue', 'sq', '--priority', '3', '--max-attempts', '2', '--overlap', 'allow', '--catch-up', 'all', '--catch-up-limit', '5', '--start-at', startAt, '--end-at', endAt, '--paused'),
      json('schedules', 'create', 'hourly', '--cron', '@hourly', '--job', '{"type":"noop","queue":"sq"}'),
      docket('schedules', 'create', 'x', '--cron', '@daily'),
      docket('schedules', 'create', 'x', '--cron', '@daily', '--type', 'echo', '--job', '{}'),
      docket('schedules', 'create', 'x', '--cron', '@daily', '--job', '{type'),
      docket('schedules', 'create', 'x', '--cron', '@daily', '--type', 'echo', '--payload', 'nope'),
    ]);
    expect(flags).toMatchObject({ name: 'nightly', timezone: 'Europe/Berlin', paused: true, overlap: 'allow', catchUp: 'all', catchUpLimit: 5, job: { type: 'echo', payload: { n: 1 }, queue: 'sq', priority: 3, maxAttempts: 2 } });
    expect(whole).toMatchObject({ name: 'hourly', cron: '@hourly', job: { type: 'noop', queue: 'sq' } });
    expect([noJob.code, noJob.stderr]).toEqual([2, 'docket: give the job to submit: --type <type> (with --payload, --queue...) or --job <json>\n']);
    expect([twoJobs.code, twoJobs.stderr]).toEqual([2, 'docket: give --type or --job, not both\n']);
    expect(badJob.code).toBe(2);
    expect(badJob.stderr).toMatch(/^docket: --job: not valid JSON \(/);
    expect(badPayload.code).toBe(2);
    expect(badPayload.stderr).toMatch(/^docket: --payload: not valid JSON \(/);

    const page = await json('schedules', 'list', '--limit', '1');
    const [next, wide, fires] = await Promise.all([
      json('schedules', 'list', '--limit', '1', '--cursor', page.nextCursor),
      docket('schedules', 'list', '-o', 'wide'),
      json('schedules', 'fires', whole.id, '--limit', '5'),
    ]);
    expect([page.schedules[0].name, next.schedules[0].name].sort()).toEqual(['hourly', 'nightly']);
    const [header, ...rows] = wide.stdout.trim().split('\n').map((l) => l.split(/\s{2,}/));
    const row = rows.find((r) => r[0] === flags.id);
    expect(header).toEqual(['ID', 'NAME', 'CRON', 'TIMEZONE', 'PAUSED', 'NEXT', 'TYPE', 'OVERLAP', 'CATCH-UP', 'LAST', 'LAST JOB']);
    expect(row!.slice(0, 5)).toEqual([flags.id, 'nightly', '30 2 * * *', 'Europe/Berlin', 'true']);
    expect(row!.slice(6, 9)).toEqual(['echo', 'allow', 'all']);
    expect(fires).toEqual({ fires: [] });
  });
});
