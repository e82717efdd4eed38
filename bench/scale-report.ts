/**
 * The scale scenario's tables (bench/scenarios/scale.ts): its figures per system and the issue's
 * targets against them. Pure functions.
 */
import { formatValue, type TargetCheck } from './report.js';
import type { DrainComparison, FleetResult, PriorityResult } from './scenarios/scale.js';

/** What one system's scale run measured; a part that failed is missing. */
export interface ScaleRecord {
  fleet?: FleetResult;
  tenants?: DrainComparison;
  queues?: DrainComparison;
  priority?: PriorityResult;
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : formatValue(v, 'ms'));
const n = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : Math.round(v).toLocaleString('en-US'));
const x = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

export function scaleTable(rows: Record<string, ScaleRecord>): string {
  const systems = Object.keys(rows);
  if (systems.length === 0) return '';
  const lines: [string, (r: ScaleRecord) => string][] = [
    ['fleet: workers / long-polls / submits per s × s', (r) => (r.fleet ? `${n(r.fleet.workers)} / ${n(r.fleet.polls)} / ${r.fleet.ratePerSec} × ${r.fleet.seconds}` : '–')],
    ['fleet: API server CPU (cores)', (r) => x(r.fleet?.serverCores)],
    ['fleet: load generator CPU (cores, the benchmark process)', (r) => x(r.fleet?.loadGeneratorCores)],
    ['fleet: heartbeats in the window (errors)', (r) => (r.fleet ? `${n(r.fleet.heartbeats)} (${n(r.fleet.heartbeatErrors)})` : '–')],
    ['fleet: heartbeat p50 / p99 / max (ms)', (r) => (r.fleet ? `${ms(r.fleet.heartbeatP50Ms)} / ${ms(r.fleet.heartbeatP99Ms)} / ${ms(r.fleet.heartbeatMaxMs)}` : '–')],
    ['fleet: jobs claimed of submitted (submits failed)', (r) => (r.fleet ? `${n(r.fleet.claimed)} of ${n(r.fleet.submitted)} (${n(r.fleet.submitErrors)})` : '–')],
    ['fleet: submit-to-claim p50 / p99 / max (ms)', (r) => (r.fleet ? `${ms(r.fleet.submitToClaimP50Ms)} / ${ms(r.fleet.submitToClaimP99Ms)} / ${ms(r.fleet.submitToClaimMaxMs)}` : '–')],
    ['fleet: of which the submit request, p50 / p99 (ms)', (r) => (r.fleet ? `${ms(r.fleet.submitP50Ms)} / ${ms(r.fleet.submitP99Ms)}` : '–')],
    ['fleet: workers wrongly lost', (r) => n(r.fleet?.wronglyLost)],
    ...drainLines('tenants', (r) => r.tenants),
    ...drainLines('queues', (r) => r.queues),
    ['priority-1 start after a resume: small backlog (ms)', (r) => (r.priority ? `${ms(r.priority.smallDelayMs)} (${n(r.priority.smallBacklog)} queued)` : '–')],
    ['priority-1 start after a resume: big backlog (ms)', (r) => (r.priority ? `${ms(r.priority.delayMs)} (${n(r.priority.backlog)} queued)` : '–')],
  ];
  return [`| | ${systems.join(' | ')} |`, `|---|${systems.map(() => '---:').join('|')}|`, ...lines.map(([label, f]) => `| ${label} | ${systems.map((s) => f(rows[s]!)).join(' | ')} |`)].join('\n');
}

function drainLines(what: string, of: (r: ScaleRecord) => DrainComparison | undefined): [string, (r: ScaleRecord) => string][] {
  return [
    [`${what}: drain, one vs many (jobs/s)`, (r) => (of(r) ? `${n(of(r)!.oneGroupPerSec)} vs ${n(of(r)!.manyGroupsPerSec)} (${n(of(r)!.groups)} × ${n(of(r)!.per)})` : '–')],
    [`${what}: last first start (rank in start order)`, (r) => (of(r) ? `${n(of(r)!.lastFirstStartRank)} (${n(of(r)!.groupsStarted)} started)` : '–')],
  ];
}

/** The targets, per system. */
export function scaleTargets(rows: Record<string, ScaleRecord>): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const [system, r] of Object.entries(rows)) {
    const check = (target: string, measured: string, met: boolean | null) => out.push({ target: `${system} ${target}`, measured, met });
    const f = r.fleet;
    const scaleOf = f ? ` (${n(f.workers)} workers, ${n(f.polls)} long-polls, ${f.ratePerSec}/s)` : '';
    check(`API server CPU <= 0.3 cores${scaleOf}`, f ? `${x(f.serverCores)} cores` : 'not measured', f ? f.serverCores <= 0.3 : null);
    check('heartbeat p99 < 50 ms', f ? `${ms(f.heartbeatP99Ms)} ms` : 'not measured', f ? f.heartbeatP99Ms < 50 : null);
    check('submit-to-claim p99 < 50 ms', f ? `${ms(f.submitToClaimP99Ms)} ms` : 'not measured', f ? f.submitToClaimP99Ms < 50 : null);
    check('no worker wrongly lost', f ? `${n(f.wronglyLost)} lost` : 'not measured', f ? f.wronglyLost === 0 : null);
    for (const [what, d] of [['tenants', r.tenants], ['queues', r.queues]] as const) {
      check(`${n(d?.groups)} ${what}: drain >= 0.9× one`, d ? `${x(d.drainRatio)}×` : 'not measured', d ? d.drainRatio >= 0.9 : null);
      check(`${n(d?.groups)} ${what}: every first start within the first 2 × ${n(d?.groups)}`, d ? `last at ${n(d.lastFirstStartRank)} of ≤ ${n(2 * d.groups)}` : 'not measured', d ? d.lastFirstStartRank <= 2 * d.groups : null);
    }
    const p = r.priority;
    check(
      `priority-1 delay after a resume, ${n(p?.backlog)} vs ${n(p?.smallBacklog)} queued, within 2×`,
      p ? `${x(p.delayRatio)}× (${ms(p.delayMs)} vs ${ms(p.smallDelayMs)} ms)` : 'not measured',
      p ? p.delayRatio <= 2 : null,
    );
  }
  return out;
}
