/**
 * The configuration sweep's results: which configuration wins, and its table. Pure functions
 * (tested in test/bench-report.test.ts); the sweep itself is bench/sweep.ts.
 */
import { median } from './report.js';

/** One configuration of a system's grid and the drains it reached, one per round. */
export interface SweepTrial {
  /** The settings tried, over the system's defaults (the grid's entry). */
  settings: Record<string, unknown>;
  drainPerSec: number[];
  /** µs of CPU per job of each round's drain (all parts). */
  cpuMicrosPerJob: number[];
  /** Failures of this configuration, one per failed round. */
  errors: string[];
}

export interface SweepResult {
  system: string;
  /** Jobs per drain, and rounds (each round tries every configuration once, interleaved). */
  jobs: number;
  rounds: number;
  trials: SweepTrial[];
  /** The index of the trial chosen in `trials`; null when none drained. */
  chosen: number | null;
}

/**
 * The trial with the best median drain. A configuration that failed in any round is not chosen:
 * the measured repeats must not run one that breaks.
 */
export function choose(trials: readonly SweepTrial[]): number | null {
  let best: number | null = null;
  trials.forEach((t, i) => {
    if (t.errors.length > 0 || t.drainPerSec.length === 0) return;
    if (best === null || median(t.drainPerSec) > median(trials[best]!.drainPerSec)) best = i;
  });
  return best;
}

/** `processes=1, concurrency=100`: the settings of a grid entry, as tried. */
export const settingsLabel = (settings: Record<string, unknown>): string =>
  Object.entries(settings)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ') || 'defaults';

/** One Markdown table for every system swept: what was tried, each round's drain, the median, and the choice. */
export function sweepTable(results: readonly SweepResult[]): string {
  const rows = results.flatMap((r) =>
    r.trials.map((t, i) => {
      const drains = t.drainPerSec.map((d) => Math.round(d).toLocaleString('en-US')).join(' / ') || '–';
      const med = t.drainPerSec.length ? Math.round(median(t.drainPerSec)).toLocaleString('en-US') : '–';
      const cpu = t.cpuMicrosPerJob.length ? String(Math.round(median(t.cpuMicrosPerJob))) : '–';
      const note = i === r.chosen ? '**chosen**' : t.errors.length ? `failed: ${t.errors[0]!.slice(0, 120)}` : '';
      return `| ${r.system} | ${settingsLabel(t.settings)} | ${drains} | ${med} | ${cpu} | ${note} |`;
    }),
  );
  return ['| system | settings tried | drain per round (jobs/s) | median | CPU per job (µs) | |', '|---|---|---:|---:|---:|---|', ...rows].join('\n');
}
