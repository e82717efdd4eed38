// Issue 22: GET /metrics of a real `docket server` (embedded, fresh data dir), scraped the way
// Prometheus does from the server's first minute:
// - the exposition passes Prometheus' own linter, `promtool check metrics` (Debian's `prometheus`
//   package; .ci/run installs it), and the rules it does not check (test/helpers/prometheus.ts:
//   HELP and TYPE on every family, counters ending in _total, no series twice, histogram buckets
//   cumulative up to +Inf);
// - the job counters are there from the first scrape, at 0, for the known queues (`default` and the
//   store's), as are the alert rules' and the recovery event types';
// - labels are bounded: more jobs through the same queues add no series, and no label carries an id.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, startServer, tempDir, type Server } from './helpers/cli.js';
import { until } from './helpers/process.js';
import { expositionProblems, parseExposition, seriesKey, valueOf } from './helpers/prometheus.js';
import { needTool } from './helpers/tools.js';

afterAll(cleanUp);

const promtool = needTool('metrics-exposition.test.ts', 'promtool', spawnSync('promtool', ['--version']).status === 0, 'apt-get install prometheus');

/**
 * prom-client's standard Node.js gauges, named so by prom-client and queried under these names by
 * Node.js dashboards; promtool's naming lint flags their `_total`. Nothing else may be flagged.
 */
const PROM_CLIENT_NAMES = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

/** What promtool says about an exposition, less the lines about prom-client's own gauges. */
function promtoolProblems(text: string): string[] {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const lines = `${run.stdout}${run.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const problems = lines.filter((l) => !(PROM_CLIENT_NAMES.has(l.split(' ')[0]!) && l.endsWith('non-counter metrics should not have "_total" suffix')));
  // Exit 3: lint findings (all listed above); anything else but 0 is a parse error.
  if (run.status !== 0 && run.status !== 3) problems.push(`promtool exited ${run.status}`);
  return problems;
}

const JOB_COUNTERS = ['submitted', 'started', 'succeeded', 'failed', 'retried', 'expired', 'cancelled', 'deduplicated', 'blocked'].map((n) => `docket_jobs_${n}_total`);
const RECOVERY_EVENTS = ['opened', 'probe', 'probe_failed', 'cleared', 'reopened', 'exhausted', 'closed'];
/** Every label name a docket_ metric may carry: each takes values from a bounded set. */
const LABELS = new Set(['queue', 'state', 'outcome', 'le', 'rule', 'kind', 'type', 'status', 'reader', 'condition', 'route', 'method', 'status_class']);
const ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe.skipIf(!promtool)('GET /metrics in Prometheus exposition format', { timeout: 180_000 }, () => {
  it('lints clean, shows the job counters at 0 from the first scrape, and adds no series as more jobs run', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'docket.json'), JSON.stringify({ alerts: { rules: [{ name: 'emails-backlog', kind: 'queue-depth', queue: 'emails', above: 1000 }] } }));
    const server = await startServer(dir, undefined, { DOCKET_CONFIG: join(dir, 'docket.json') });
    const submit = (jobs: object[]) => call(server, 'POST', '/v1/jobs/bulk', { jobs });
    // Jobs in a queue no worker serves, before Prometheus' first scrape: the queue is known.
    await submit([{ type: 'noop', queue: 'emails' }, { type: 'noop', queue: 'emails' }]);

    const first = await scrape(server);
    expect(promtoolProblems(first)).toEqual([]);
    expect(expositionProblems(first)).toEqual([]);
    const m = parseExposition(first);
    for (const name of [...JOB_COUNTERS, 'docket_lease_expirations_total']) {
      for (const queue of ['default', 'emails']) expect(valueOf(m, name, { queue }), `${name}{queue="${queue}"}`).toBe(0);
    }
    expect(valueOf(m, 'docket_alerts_fired_total', { rule: 'emails-backlog' })).toBe(0);
    for (const type of RECOVERY_EVENTS) expect(valueOf(m, 'docket_recovery_events_total', { type }), type).toBe(0);
    expect(valueOf(m, 'docket_jobs', { queue: 'emails', state: 'ready' })).toBe(2);
    expect(valueOf(m, 'docket_jobs', { queue: 'emails', state: 'failed' })).toBe(0);

    // Jobs run: counted from 0, histograms filled; still clean.
    await runEchoes(server, 10);
    const second = await scrape(server);
    expect(promtoolProblems(second)).toEqual([]);
    expect(expositionProblems(second)).toEqual([]);
    const m2 = parseExposition(second);
    expect(valueOf(m2, 'docket_jobs_succeeded_total', { queue: 'default' })).toBe(10);
    expect(valueOf(m2, 'docket_job_run_seconds_count', { queue: 'default', outcome: 'succeeded' })).toBe(10);

    // Bounded: label names from a fixed list, no ids in values, and the same jobs again through
    // the same queues add no series.
    for (const f of m2.values()) {
      if (!f.name.startsWith('docket_')) continue;
      for (const s of f.samples) {
        for (const [k, v] of Object.entries(s.labels)) {
          expect(LABELS.has(k), `${seriesKey(s)}: label ${k}`).toBe(true);
          expect(ID.test(v), `${seriesKey(s)}: an id in a label`).toBe(false);
        }
      }
    }
    await runEchoes(server, 10);
    const third = parseExposition(await scrape(server));
    const series = (fs: typeof m2) => [...fs.values()].filter((f) => f.name.startsWith('docket_')).flatMap((f) => f.samples.map(seriesKey)).sort();
    expect(series(third)).toEqual(series(m2));
    expect(valueOf(third, 'docket_jobs_succeeded_total', { queue: 'default' })).toBe(20);
  });
});

describe.skipIf(!promtool)('the exposition checks themselves', () => {
  it('flag a bad name, a counter without _total, a series twice, buckets that are not cumulative or lack +Inf', () => {
    expect(promtoolProblems('# HELP a-b x\n# TYPE a-b gauge\na-b 1\n').join('\n')).toMatch(/parsing error/);
    expect(promtoolProblems('# HELP jobs x\n# TYPE jobs counter\njobs 1\n').join('\n')).toMatch(/should have "_total" suffix/);
    expect(expositionProblems('# HELP a_total x\n# TYPE a_total counter\na_total{q="1"} 1\na_total{q="1"} 2\n')).toEqual(['a_total{q="1"}: the same series twice']);
    const histogram = (buckets: string) => `# HELP h_seconds x\n# TYPE h_seconds histogram\n${buckets}h_seconds_sum 1\nh_seconds_count 5\n`;
    expect(expositionProblems(histogram('h_seconds_bucket{le="1"} 5\nh_seconds_bucket{le="2"} 3\nh_seconds_bucket{le="+Inf"} 5\n'))[0]).toMatch(/not cumulative/);
    expect(expositionProblems(histogram('h_seconds_bucket{le="1"} 5\n'))).toEqual(['h_seconds[]: no +Inf bucket']);
    expect(() => expositionProblems('docket_x 1\n')).toThrow(/outside its family/);
  });
});

async function call(server: Server, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  expect(res.ok, `${method} ${path}: ${res.status}`).toBe(true);
  return res;
}

async function scrape(server: Server): Promise<string> {
  const res = await call(server, 'GET', '/metrics');
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Submits `n` echo jobs to the default queue and waits until they have succeeded. */
async function runEchoes(server: Server, n: number): Promise<void> {
  const res = await call(server, 'POST', '/v1/jobs/bulk', { jobs: Array.from({ length: n }, (_, i) => ({ type: 'echo', payload: { i } })) });
  const ids = ((await res.json()) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
  await until('the echo jobs to succeed', async () => {
    const states = await Promise.all(ids.map(async (id) => ((await (await call(server, 'GET', `/v1/jobs/${id}`)).json()) as { state: string }).state));
    return states.every((s) => s === 'succeeded') ? true : undefined;
  }, 60_000, 200);
}
