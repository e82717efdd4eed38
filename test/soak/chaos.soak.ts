// The soak: test/helpers/chaos.ts's faults on a loop for DOCKET_SOAK_MINUTES, run by
// `npm run soak -- --minutes N` (scripts/soak.mjs), which prints the report and writes it to
// DOCKET_SOAK_REPORT. Not part of `npm test` (its file name does not end in .test.ts).
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { runChaos, type ChaosReport, type Death } from '../helpers/chaos.js';
import { admin, cleanupClusters, mintToken } from '../helpers/cluster.js';
import { startPrivateKafka, startPrivatePostgres, startPrivateRedis, type PrivateKafka, type PrivatePostgres, type PrivateRedis } from '../helpers/private-engines.js';

const MINUTES = Number(process.env.DOCKET_SOAK_MINUTES ?? 30);
const REPORT = process.env.DOCKET_SOAK_REPORT;

let pg: PrivatePostgres;
let redis: PrivateRedis;
let kafka: PrivateKafka;

beforeAll(async () => {
  [pg, redis, kafka] = await Promise.all([startPrivatePostgres(), startPrivateRedis(), startPrivateKafka()]);
  admin.token = await mintToken('admin');
}, 240_000);

afterEach(async (ctx) => {
  await cleanupClusters(ctx.task.result?.state === 'fail');
});

afterAll(async () => {
  await Promise.all([pg?.destroy(), redis?.destroy(), kafka?.destroy()]);
});

it(`soak: the chaos faults on a loop for ${MINUTES} min`, async () => {
  const started = new Date().toISOString();
  const report = await runChaos({ pg, redis, kafka, name: 'soak', rounds: Number.MAX_SAFE_INTEGER, forMs: MINUTES * 60_000, log: (line) => console.log(`${new Date().toISOString()} ${line}`) });
  const text = render(report, started);
  console.log(text);
  if (REPORT) writeFileSync(REPORT, text);
  expect(report.died).toEqual([]);
  expect(report.unhandled).toEqual([]);
  expect(report.notSucceeded).toEqual([]);
  expect(report.unexplained).toEqual([]);
  expect(report.badServerErrors).toEqual([]);
  expect(report.cron.duplicateTicks).toEqual([]);
  expect(report.cron.missingTicks).toEqual([]);
  expect(report.events.broken).toEqual([]);
  expect(report.kafka?.broken).toEqual([]);
}, (MINUTES + 10) * 60_000);

function render(r: ChaosReport, started: string): string {
  const reasons = new Map<string, number>();
  for (const d of r.duplicates) reasons.set(d.explanation ?? 'UNEXPLAINED', (reasons.get(d.explanation ?? 'UNEXPLAINED') ?? 0) + 1);
  return [
    `# Soak report (${started}, ${(r.durationMs / 60_000).toFixed(1)} min, ${r.rounds} rounds)`,
    '',
    `- faults injected: ${Object.entries(r.faults).map(([f, n]) => `${f} ${n}`).join(', ')} (${Object.values(r.faults).reduce((a, b) => a + b, 0)} in all)`,
    `- jobs acknowledged: ${r.acknowledged}; submit replies by status: ${Object.entries(r.replies).map(([s, n]) => `${s === '0' ? 'no answer' : s} ${n}`).join(', ')}`,
    `- lost (acknowledged, not succeeded): ${r.notSucceeded.length}${r.notSucceeded.length ? `: ${r.notSucceeded.slice(0, 10).join('; ')}` : ''}`,
    `- executions: ${r.executions}; jobs run more than once: ${r.duplicates.length} (${r.duplicates.reduce((n, d) => n + d.executions - 1, 0)} extra runs)`,
    ...[...reasons].map(([why, n]) => `  - ${n}: ${why}`),
    `- cron ticks: ${r.cron.ticks}, each with one job: ${r.cron.duplicateTicks.length === 0 ? 'yes' : `no: ${r.cron.duplicateTicks.join(', ')}`}; ticks missing: ${r.cron.missingTicks.length}`,
    `- events checked: ${r.events.checked} job events of ${r.events.jobs} jobs, complete and in order: ${r.events.broken.length === 0 ? 'yes' : `no: ${r.events.broken.slice(0, 5).join('; ')}`}`,
    r.kafka
      ? `- Kafka (job-events topic, read back once the relay caught up): ${r.kafka.checked} events of ${r.kafka.jobs} jobs, complete and in order per job: ${r.kafka.broken.length === 0 ? 'yes' : `no: ${r.kafka.broken.slice(0, 5).join('; ')}`}; published again after a fault (same id, skipped): ${r.kafka.republished}`
      : '- Kafka: not used',
    `- processes that died without being killed: ${r.died.length}${r.died.length ? ' (below)' : ''}`,
    `- 5xx replies that were not 503 + Retry-After: ${r.badServerErrors.length}`,
    `- unhandled promise rejections logged (bugs survived): ${r.unhandled.length}${r.unhandled.length ? `: ${r.unhandled.slice(0, 5).join('; ')}` : ''}`,
    '',
    ...r.died.flatMap(renderDeath),
  ].join('\n');
}

/** How and when a process died, the faults before, and its own last words: enough to explain it. */
function renderDeath(d: Death): string[] {
  const fence = (text: string) => ['```', text.trimEnd() || '(empty)', '```'];
  return [
    `## ${d.name} (pid ${d.pid}) died at ${d.at}: ${d.signal ? `signal ${d.signal}` : `exit code ${d.code}`}`,
    '',
    `Faults in the minute before (times relative to its death): ${d.faultsBefore.join('; ') || 'none'}`,
    '',
    'Its stderr (the end):',
    '',
    ...fence(d.stderr),
    '',
    'Its last output lines:',
    '',
    ...fence(d.lastLines.join('\n')),
    '',
  ];
}
