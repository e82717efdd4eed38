/**
 * The configuration sweep, run by `npm run bench` before the measured repeats: every system is
 * measured at its best configuration on the machine the suite runs on, not at one picked on
 * another machine. For each system, the drain (enqueue `jobs` no-op jobs, then drain them, as in
 * scenarios 1 and 2) with each configuration of its grid below, over `rounds` rounds that each
 * try every configuration once, in an order rotated by one each round; the configuration with the
 * best median drain is the one the repeats use. A system given `--config` is not swept (its
 * configuration is the one asked for); `--no-sweep` uses every system's defaults.
 *
 * The grids: processes × slots for every system, and the settings each one's documentation names
 * for throughput (graphile-worker's local queue, pg-boss's batch size), around the configurations
 * measured best here before (issue 17: graphile-worker one process, concurrency 24, localQueue
 * 500, completeJobBatchDelay 0, at 36k jobs/s against ~19k/s with two; BullMQ one process,
 * concurrency 100, removeOnComplete). Docket's own deployments are in the same sweep: embedded
 * worker slots; production one server with its in-process worker, or an api+scheduler server and
 * `--role worker` processes. 21 configurations: with the defaults (20,000 jobs, 2 rounds) ~5–10
 * minutes on this machine.
 */
import type { Bar } from './progress.js';
import { throughput } from './scenarios/throughput.js';
import type { Signals } from './signals.js';
import type { SystemContext, SystemName } from './system.js';
import { makeSystem } from './systems.js';
import { choose, type SweepResult, type SweepTrial } from './sweep-report.js';

export const GRIDS: Record<SystemName, Record<string, unknown>[]> = {
  'docket-embedded': [{ concurrency: 100 }, { concurrency: 200 }, { concurrency: 400 }, { concurrency: 800 }],
  'docket-production': [
    { deployment: 'separate', workers: 1, concurrency: 200 },
    { deployment: 'separate', workers: 1, concurrency: 400 },
    { deployment: 'separate', workers: 2, concurrency: 200 },
    { deployment: 'server', workers: 0, concurrency: 200 },
    { deployment: 'server', workers: 0, concurrency: 400 },
  ],
  bullmq: [
    { processes: 1, concurrency: 100 },
    { processes: 1, concurrency: 200 },
    { processes: 1, concurrency: 400 },
    { processes: 2, concurrency: 100 },
    { processes: 2, concurrency: 200 },
  ],
  // maxPoolSize: one connection per job slot and one for the local queue's fetches.
  'graphile-worker': [
    { processes: 1, concurrentJobs: 24, maxPoolSize: 25, localQueueSize: 500 },
    { processes: 1, concurrentJobs: 48, maxPoolSize: 49, localQueueSize: 500 },
    { processes: 1, concurrentJobs: 24, maxPoolSize: 25, localQueueSize: 1000 },
    { processes: 2, concurrentJobs: 24, maxPoolSize: 25, localQueueSize: 500 },
  ],
  'pg-boss': [
    { processes: 1, workersPerProcess: 8, batchSize: 200 },
    { processes: 2, workersPerProcess: 4, batchSize: 200 },
    { processes: 2, workersPerProcess: 2, batchSize: 500 },
    { processes: 1, workersPerProcess: 4, batchSize: 500 },
  ],
};

export interface SweepRun {
  signals: Signals;
  /** The context of every system (its overrides are the grid's entry). */
  context: Omit<SystemContext, 'overrides'>;
  jobs: number;
  rounds: number;
  /** Told of each configuration tried, before it runs: one step of the progress bar. */
  next(round: number, name: string): void;
  bar: Bar;
  log(line: string): void;
}

/** Sweeps one system's grid; the chosen entry is `result.trials[result.chosen].settings`. */
export async function sweep(name: SystemName, run: SweepRun): Promise<SweepResult> {
  const grid = GRIDS[name];
  const trials: SweepTrial[] = grid.map((settings) => ({ settings, drainPerSec: [], cpuMicrosPerJob: [], errors: [] }));
  for (let round = 1; round <= run.rounds; round++) {
    for (let k = 0; k < grid.length; k++) {
      const i = (k + round - 1) % grid.length;
      const trial = trials[i]!;
      run.next(round, `${name} sweep ${i + 1}/${grid.length}`);
      const system = makeSystem(name, { ...run.context, overrides: trial.settings });
      const failures = trial.errors.length;
      try {
        await system.setup();
        const r = await throughput(system, run.signals, run.jobs, run.bar, run.context.databaseUrl);
        trial.drainPerSec.push(r.drainPerSec);
        trial.cpuMicrosPerJob.push(r.cpuMicrosPerJob.total!);
      } catch (err) {
        trial.errors.push(err instanceof Error ? err.message : String(err));
      } finally {
        await system.teardown().catch((err) => trial.errors.push(`teardown: ${String(err)}`));
      }
      const outcome =
        trial.errors.length > failures ? `failed: ${trial.errors.at(-1)}` : `${Math.round(trial.drainPerSec.at(-1)!)} jobs/s, ${Math.round(trial.cpuMicrosPerJob.at(-1)!)} µs CPU per job`;
      run.log(`${name} sweep round ${round} ${JSON.stringify(trial.settings)}: ${outcome}`);
    }
  }
  const result: SweepResult = { system: name, jobs: run.jobs, rounds: run.rounds, trials, chosen: choose(trials) };
  run.log(`${name} sweep: ${result.chosen === null ? 'no configuration drained; the defaults are used' : `chosen ${JSON.stringify(trials[result.chosen]!.settings)}`}`);
  return result;
}
