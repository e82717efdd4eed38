/**
 * Results of the side-by-side suite: medians over repeats, ratios to the best peer, the
 * Markdown table and the JSON record. Pure functions (tested in test/bench-report.test.ts).
 */

export const PEERS = ['bullmq', 'graphile-worker', 'pg-boss'] as const;
export const DOCKETS = ['docket-embedded', 'docket-production'] as const;

/** `sorted` ascending; nearest rank (the value at floor(n × p)). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export const sortedCopy = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** The middle value; the mean of the two middle ones for an even count. NaN when empty. */
export function median(xs: readonly number[]): number {
  const s = sortedCopy(xs.filter((x) => Number.isFinite(x)));
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A figure of the table: which way is better. */
export interface Metric {
  key: string;
  label: string;
  unit: 'jobs/s' | 'ms' | 'MiB' | 'µs';
  better: 'higher' | 'lower';
}

export const METRICS: readonly Metric[] = [
  { key: 'enqueuePerSec', label: 'enqueue', unit: 'jobs/s', better: 'higher' },
  { key: 'drainPerSec', label: 'drain', unit: 'jobs/s', better: 'higher' },
  { key: 'cpuMicrosPerJob', label: 'drain CPU per job', unit: 'µs', better: 'lower' },
  { key: 'idleP50Ms', label: 'start latency idle p50', unit: 'ms', better: 'lower' },
  { key: 'idleP99Ms', label: 'idle p99', unit: 'ms', better: 'lower' },
  { key: 'loadP50Ms', label: 'latency at 50% load p50', unit: 'ms', better: 'lower' },
  { key: 'loadP99Ms', label: 'load p99', unit: 'ms', better: 'lower' },
  { key: 'peakRssMiB', label: 'peak RSS, memory run', unit: 'MiB', better: 'lower' },
  { key: 'storeMiB', label: 'store size, memory run', unit: 'MiB', better: 'lower' },
];

/** Per system, per metric key: the values of each repeat. */
export type Samples = Record<string, Record<string, number[]>>;

export function medians(samples: Samples): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(samples).map(([system, m]) => [system, Object.fromEntries(Object.entries(m).map(([k, xs]) => [k, median(xs)]))]));
}

export interface BestPeer {
  system: string;
  value: number;
}

/** The best peer for a metric (highest or lowest median, by the metric's direction); null when no peer has it. */
export function bestPeer(meds: Record<string, Record<string, number>>, metric: Metric, peers: readonly string[] = PEERS): BestPeer | null {
  let best: BestPeer | null = null;
  for (const system of peers) {
    const value = meds[system]?.[metric.key];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (!best || (metric.better === 'higher' ? value > best.value : value < best.value)) best = { system, value };
  }
  return best;
}

/**
 * How many times better than the best peer: throughput / best; for latency and memory,
 * best / value (so > 1 always means better than the best peer).
 */
export function ratio(value: number, best: number, better: Metric['better']): number {
  if (!Number.isFinite(value) || !Number.isFinite(best) || value <= 0 || best <= 0) return NaN;
  return better === 'higher' ? value / best : best / value;
}

export function formatValue(v: number | undefined, unit: Metric['unit']): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (unit === 'jobs/s' || unit === 'µs') return Math.round(v).toLocaleString('en-US');
  if (unit === 'MiB') return v.toFixed(v < 10 ? 1 : 0);
  return v < 10 ? v.toFixed(2) : v.toFixed(v < 100 ? 1 : 0);
}

export const formatRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');

/** The main table: one row per system, one column per metric that any system measured. */
export function resultsTable(meds: Record<string, Record<string, number>>, systems: readonly string[]): string {
  const metrics = METRICS.filter((m) => systems.some((s) => Number.isFinite(meds[s]?.[m.key] ?? NaN)));
  const head = `| system | ${metrics.map((m) => `${m.label} (${m.unit})`).join(' | ')} |`;
  const rule = `|---|${metrics.map(() => '---:').join('|')}|`;
  const rows = systems.map((s) => `| ${s} | ${metrics.map((m) => formatValue(meds[s]?.[m.key], m.unit)).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

/** Docket against the best peer, metric by metric: "1.35× (bullmq)"; > 1 is better than the best peer. */
export function ratioTable(meds: Record<string, Record<string, number>>, systems: readonly string[]): string {
  const dockets = systems.filter((s) => (DOCKETS as readonly string[]).includes(s));
  const peers = systems.filter((s) => (PEERS as readonly string[]).includes(s));
  const metrics = METRICS.filter((m) => bestPeer(meds, m, peers) && dockets.some((d) => Number.isFinite(meds[d]?.[m.key] ?? NaN)));
  if (dockets.length === 0 || metrics.length === 0) return '';
  const head = `| vs best peer | ${metrics.map((m) => m.label).join(' | ')} |`;
  const rule = `|---|${metrics.map(() => '---:').join('|')}|`;
  const bestRow = `| best peer | ${metrics.map((m) => {
    const b = bestPeer(meds, m, peers)!;
    return `${b.system} ${formatValue(b.value, m.unit)}`;
  }).join(' | ')} |`;
  const rows = dockets.map((d) => `| ${d} | ${metrics.map((m) => formatRatio(ratio(meds[d]?.[m.key] ?? NaN, bestPeer(meds, m, peers)!.value, m.better))).join(' | ')} |`);
  return [head, rule, bestRow, ...rows].join('\n');
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

/** The issue's targets on this machine. met: null when not measured in this run. */
export function targets(meds: Record<string, Record<string, number>>, systems: readonly string[]): TargetCheck[] {
  const peers = systems.filter((s) => (PEERS as readonly string[]).includes(s));
  const drain = METRICS.find((m) => m.key === 'drainPerSec')!;
  const best = bestPeer(meds, drain, peers);
  const out: TargetCheck[] = [];
  for (const [system, factor] of [['docket-production', 1.2], ['docket-embedded', 2]] as const) {
    const v = meds[system]?.drainPerSec;
    const r = best && v !== undefined ? ratio(v, best.value, 'higher') : NaN;
    out.push({
      target: `${system} drain >= ${factor}× best peer`,
      measured: Number.isFinite(r) ? `${formatRatio(r)} (${formatValue(v, 'jobs/s')} vs ${best!.system} ${formatValue(best!.value, 'jobs/s')})` : 'not measured',
      met: Number.isFinite(r) ? r >= factor : null,
    });
  }
  // Idle enqueue-to-start p50: embedded < 0.5 ms, production < 2 ms (HTTP submit to handler start).
  for (const [system, limit] of [['docket-embedded', 0.5], ['docket-production', 2]] as const) {
    const v = meds[system]?.idleP50Ms;
    out.push({
      target: `${system} enqueue-to-start p50 idle < ${limit} ms`,
      measured: v !== undefined && Number.isFinite(v) ? `${formatValue(v, 'ms')} ms` : 'not measured',
      met: v !== undefined && Number.isFinite(v) ? v < limit : null,
    });
  }
  // Memory run: store size per queued job within 1.2× the smallest peer's, peak RSS within 1.5× the leanest's.
  for (const [key, factor, what] of [['storeMiB', 1.2, 'store size, 1M queued'], ['peakRssMiB', 1.5, 'peak RSS, 1M queued']] as const) {
    const metric = METRICS.find((m) => m.key === key)!;
    const leanest = bestPeer(meds, metric, peers);
    for (const system of DOCKETS) {
      const v = meds[system]?.[key];
      const times = leanest && v !== undefined && Number.isFinite(v) ? v / leanest.value : NaN;
      out.push({
        target: `${system} ${what} <= ${factor}× the smallest peer's`,
        measured: Number.isFinite(times) ? `${times.toFixed(2)}× (${formatValue(v, 'MiB')} vs ${leanest!.system} ${formatValue(leanest!.value, 'MiB')} MiB)` : 'not measured',
        met: Number.isFinite(times) ? times <= factor : null,
      });
    }
  }
  return out;
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  return ['| target | measured | met |', '|---|---|---|', ...checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met === null ? '–' : c.met ? 'yes' : '**no**'} |`)].join('\n');
}

/** Fairness and priority (Docket only): medians per field. */
export function fairnessTable(rows: Record<string, Record<string, number>>): string {
  const systems = Object.keys(rows);
  if (systems.length === 0) return '';
  const fields: [string, string][] = [
    ['smallTenantFirstStartMs', "tenant B's first start (ms after the first job's start)"],
    ['smallTenantLastStartMs', "tenant B's last start (ms after the first job's start)"],
    ['bigTenantStartedBeforeSmallLast', "tenant A's jobs started before B's last"],
    ['highPriorityStartMs', 'priority-1 job: start (ms after its submit)'],
    ['lowStartedAfterHighSubmitted', 'priority-5 jobs started between its submit and its start'],
    ['weightedHeavyLightRatio', 'weights 3:1: heavy/light start ratio while both have backlog'],
  ];
  const cell = (k: string, v: number | undefined) =>
    k.endsWith('Ratio') ? (v !== undefined && Number.isFinite(v) ? v.toFixed(2) : '–') : formatValue(v, k.endsWith('Ms') ? 'ms' : 'jobs/s');
  const shares = (r: Record<string, number>) =>
    ['poolShare1to3', 'poolShare4to7', 'poolShare8to10'].every((k) => Number.isFinite(r[k] ?? NaN))
      ? `${r.poolShare1to3!.toFixed(2)} / ${r.poolShare4to7!.toFixed(2)} / ${r.poolShare8to10!.toFixed(2)}`
      : '–';
  return [
    `| | ${systems.join(' | ')} |`,
    `|---|${systems.map(() => '---:').join('|')}|`,
    ...fields.map(([k, label]) => `| ${label} | ${systems.map((s) => cell(k, rows[s]![k])).join(' | ')} |`),
    `| pools 8:4:2: share of starts 1-3 / 4-7 / 8-10 (expected 0.57/0.29/0.14) | ${systems.map((s) => shares(rows[s]!)).join(' | ')} |`,
  ].join('\n');
}
