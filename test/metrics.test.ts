// GET /metrics from a real server after running jobs: parsed strictly (test/helpers/prometheus.ts)
// and checked the way an operator reads it — the succeeded counter equals the jobs that succeeded,
// histograms count every attempt, names follow Prometheus conventions.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Docket } from '../src/app/docket.js';
import { parseConfigFile } from '../src/config/index.js';
import { DocketClient } from '../src/sdk/client.js';
import { PermanentError } from '../src/sdk/errors.js';
import { LocalTransport } from '../src/sdk/local-transport.js';
import { Worker } from '../src/sdk/worker.js';
import { tokenFor } from './helpers/auth.js';
import { both, type ServerExtras } from './helpers/both.js';
import { until } from './helpers/process.js';
import { parseExposition, valueOf, type Family } from './helpers/prometheus.js';

// On both deployments (embedded; PostgreSQL + Redis): the counters come from the store's event
// log, the gauges from its queries, and the jobs run through the dispatch.
const { onBoth, start, defer } = both();

/** The server's /metrics as the server command serves it: the log for the counters, the engine's own counters and alerts. */
const metricsServer = (d: Docket): ServerExtras => ({
  metrics: d.metrics,
  alerts: d.alerts!.store,
  events: { log: d.store.events, source: d.relay.source, onPositioned: (l) => d.relay.onPositioned(l) },
});

onBoth('GET /metrics', () => {
  it('reports job counters, histograms, gauges and request durations after running jobs', async () => {
    const rules = parseConfigFile({ alerts: { rules: [{ name: 'emails-backlog', kind: 'queue-depth', queue: 'emails', above: 0 }] } });
    const { docket, base } = await start({ rules }, metricsServer);
    const viewer = await tokenFor('ops', ['viewer']);
    const scrape = async (token = viewer) => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseExposition(await res.text());
    };
    // Prometheus scrapes from the start: the counters count from the first scrape on.
    await scrape();

    const client = new DocketClient({ baseUrl: base, token: await tokenFor('acme', ['submitter']) });
    await client.submitBulk([
      ...Array.from({ length: 18 }, (_, i) => ({ type: 'ok', queue: 'emails', payload: { i } })),
      { type: 'boom', queue: 'emails', maxAttempts: 1 },
      { type: 'flaky', queue: 'emails', maxAttempts: 2, backoff: { type: 'fixed', delayMs: 1 } },
      { type: 'ok', queue: 'reports', dedupKey: 'monthly' },
    ] as Parameters<DocketClient['submitBulk']>[0]);
    const again = await client.submit({ type: 'ok', queue: 'reports', dedupKey: 'monthly' });
    expect(again.deduplicated).toBe(true);
    // An alert fires while the backlog is there.
    await docket.alerts!.evaluator.runOnce();

    let flaky = 0;
    const worker = await new Worker({
      transport: new LocalTransport(docket.jobs),
      queues: ['emails', 'reports'],
      concurrency: 4,
      handlers: {
        ok: async () => {
          // The work itself: the run-time histogram below checks that it took at least this long.
          await new Promise((r) => setTimeout(r, 20));
          return { ok: true };
        },
        boom: async () => {
          throw new PermanentError('no such mailbox');
        },
        flaky: async () => {
          if (flaky++ === 0) throw new Error('try again');
          return { ok: true };
        },
      },
    }).start();
    defer(() => worker.close());
    await until('every job to end', async () => {
      const [emails, reports] = [await docket.jobs.queries.queues(null)].map((qs) => qs)[0]!.reduce<number[]>((acc, q) => [...acc, q.counts.succeeded + q.counts.failed], []);
      return emails === 20 && reports === 1 ? true : undefined;
    });
    await docket.alerts!.evaluator.runOnce(); // the backlog is gone: resolved
    // The counters follow the log as positioned: SQLite positions events as they are written,
    // PostgreSQL in the relay's runs. The resolution is the last event: once it is positioned, so
    // is everything before it, and the scrape counts it all.
    await until('the alert resolved in the log', async () => ((await docket.store.events.read(0, 1000, { topics: ['alert-events'] })).some((e) => e.type === 'resolved') ? true : undefined));

    const m = await scrape();
    const v = (name: string, labels: Record<string, string> = {}) => valueOf(m, name, labels);
    // Counters, cluster-wide from the event log.
    expect(v('docket_jobs_submitted_total', { queue: 'emails' })).toBe(20);
    expect(v('docket_jobs_submitted_total', { queue: 'reports' })).toBe(1);
    expect(v('docket_jobs_deduplicated_total', { queue: 'reports' })).toBe(1);
    expect(v('docket_jobs_started_total', { queue: 'emails' })).toBe(21); // flaky ran twice
    expect(v('docket_jobs_succeeded_total', { queue: 'emails' })).toBe(19);
    expect(v('docket_jobs_succeeded_total', { queue: 'reports' })).toBe(1);
    expect(v('docket_jobs_failed_total', { queue: 'emails' })).toBe(1);
    expect(v('docket_jobs_retried_total', { queue: 'emails' })).toBe(1);
    expect(v('docket_alerts_fired_total', { rule: 'emails-backlog' })).toBe(1);
    // Histograms: one wait per start, one run per attempt that ended, +Inf = count, buckets grow.
    expect(v('docket_job_wait_seconds_count', { queue: 'emails' })).toBe(21);
    expect(v('docket_job_run_seconds_count', { queue: 'emails', outcome: 'succeeded' })).toBe(19);
    expect(v('docket_job_run_seconds_count', { queue: 'emails', outcome: 'failed' })).toBe(2);
    expect(v('docket_job_run_seconds_bucket', { queue: 'emails', outcome: 'succeeded', le: '+Inf' })).toBe(19);
    // The "ok" jobs slept 20 ms each; only flaky's second attempt (no sleep) can be under 10 ms.
    expect(v('docket_job_run_seconds_bucket', { queue: 'emails', outcome: 'succeeded', le: '0.01' })).toBeLessThanOrEqual(1);
    expect(v('docket_job_run_seconds_sum', { queue: 'emails', outcome: 'succeeded' })).toBeGreaterThanOrEqual(18 * 0.015);
    for (const f of m.values()) if (f.type === 'histogram') expectCumulative(f);
    // Gauges read from the store.
    expect(v('docket_jobs', { queue: 'emails', state: 'succeeded' })).toBe(19);
    expect(v('docket_jobs', { queue: 'emails', state: 'failed' })).toBe(1);
    expect(v('docket_alerts_firing', { rule: 'emails-backlog' })).toBeUndefined();
    expect(v('docket_workers', { status: 'active' })).toBe(0);
    expect(v('docket_event_reader_lag_events', { reader: 'metrics' })).toBe(0);
    expect(v('docket_event_publish_lag_seconds')).toBe(0);
    expect(v('docket_metrics_events_missed_total')).toBe(0);
    // HTTP request durations, by route pattern.
    expect(v('docket_http_request_duration_seconds_count', { route: '/v1/jobs/bulk', method: 'POST', status_class: '2xx' })).toBe(1);
    expect(v('docket_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status_class: '2xx' })).toBe(1);
    // Node's defaults under their standard names, as Node.js dashboards query them.
    expect(v('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(v('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect([...m.keys()].filter((n) => n.includes('docket_process'))).toEqual([]);

    // Names follow the conventions: docket_ prefix, counters end in _total, base units.
    for (const f of m.values()) {
      if (/^(process|nodejs)_/.test(f.name)) continue; // prom-client's defaults (nodejs_active_resources_total is a gauge)
      expect(f.name).toMatch(/^docket_[a-z0-9_]+$/);
      expect(f.help.length).toBeGreaterThan(0);
      if (f.type === 'counter') expect(f.name).toMatch(/_total$/);
      else expect(f.name).not.toMatch(/_total$/);
      expect(f.name).not.toMatch(/_(ms|milliseconds|minutes)$/);
    }
    // docs/metrics.md lists exactly the metrics served (prom-client's defaults aside).
    const documented = new Set([...readFileSync(fileURLToPath(new URL('../docs/metrics.md', import.meta.url)), 'utf8').matchAll(/^\| `(docket_[a-z0-9_]+)`/gm)].map((d) => d[1]!));
    const served = new Set([...m.keys()].filter((n) => n.startsWith('docket_')));
    expect([...served].filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !served.has(n))).toEqual([]);
    // Admins may read it too; submitters may not.
    await scrape(await tokenFor('ops', ['admin']));
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${await tokenFor('acme', ['submitter'])}` } })).status).toBe(403);
  });

  it('counts a lease that ran out', async () => {
    const { docket, app } = await start({ leaseMs: 50 }, (d) => ({ events: metricsServer(d).events }));
    const res = () => app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    const token = await tokenFor('ops', ['admin']);
    await res();
    await docket.jobs.submitter.submit([{ type: 't', queue: 'q' }], { tenant: 'acme' });
    await docket.jobs.claims.claim({ workerId: 'gone', queues: ['q'], max: 1 });
    await until('the expired lease reaped', async () => ((await docket.jobs.queries.queues(null))[0]!.counts.ready === 1 ? true : undefined));
    // Counted from the log once the relay has positioned the expiry (PostgreSQL: on its next run).
    const m = await until('the expiry counted', async () => {
      const scraped = parseExposition((await res()).body);
      return valueOf(scraped, 'docket_lease_expirations_total', { queue: 'q' }) ? scraped : undefined;
    });
    expect(valueOf(m, 'docket_lease_expirations_total', { queue: 'q' })).toBe(1);
  });
});

/** A histogram's buckets never decrease, and +Inf equals its count, for every label set. */
function expectCumulative(f: Family): void {
  const series = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    if (s.name.endsWith('_bucket')) series.set(key, [...(series.get(key) ?? []), { le: le === '+Inf' ? Infinity : Number(le), value: s.value }]);
    if (s.name.endsWith('_count')) counts.set(key, s.value);
  }
  for (const [key, buckets] of series) {
    const sorted = [...buckets].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.value).toBeGreaterThanOrEqual(sorted[i - 1]!.value);
    expect(sorted.at(-1)).toEqual({ le: Infinity, value: counts.get(key) });
  }
}
