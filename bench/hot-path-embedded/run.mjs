// Runs drain.mjs for every variant, --rounds times, each run in a fresh process, the order rotated
// each round (round r starts at variant r), and prints the medians as a Markdown table plus every
// raw line. --out writes the raw lines as JSON. The variant `engine` is today's whole engine
// (engine-drain.mjs, from the build in --dist), for calibrating the store-level figures.
//   node bench/hot-path-embedded/run.mjs --jobs 100000 --batch 100 --rounds 3 [--variants A,CE,engine] [--out FILE]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { median } from './lib/common.mjs';
import { VARIANTS } from './lib/variants.mjs';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100000' }, batch: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') }, sync: { type: 'string', default: 'NORMAL' }, out: { type: 'string' },
    dist: { type: 'string', default: new URL('../../dist', import.meta.url).pathname },
  },
});
const names = args.variants.split(',');
const drain = new URL('./drain.mjs', import.meta.url).pathname;
const engine = new URL('./engine-drain.mjs', import.meta.url).pathname;
const raw = [];
for (let r = 0; r < Number(args.rounds); r++) {
  for (let k = 0; k < names.length; k++) {
    const v = names[(r + k) % names.length];
    const argv = v === 'engine' ? [engine, '--jobs', args.jobs, '--dist', args.dist] : [drain, '--variant', v, '--jobs', args.jobs, '--batch', args.batch, '--sync', args.sync];
    const out = execFileSync(process.execPath, argv, { encoding: 'utf8' });
    const line = { round: r, load1: +loadavg()[0].toFixed(2), ...JSON.parse(out.trim().split('\n').pop()) };
    raw.push(line);
    console.error(JSON.stringify(line));
  }
}
const cols = ['drainPerS', 'drainCpuUsPerJob', 'drainMainUsPerJob', 'drainStoreThreadUsPerJob', 'enqueuePerS', 'enqueueCpuUsPerJob'];
console.log(`\n${args.jobs} jobs, batch ${args.batch}, synchronous=${args.sync}, ${args.rounds} rounds, medians\n`);
console.log(`| variant | ${cols.join(' | ')} |`);
console.log(`|---|${cols.map(() => '---:').join('|')}|`);
for (const v of names) {
  const runs = raw.filter((x) => x.variant === v);
  const cell = (c) => (runs[0][c] === null || runs[0][c] === undefined ? '–' : String(+median(runs.map((x) => x[c])).toFixed(1)));
  console.log(`| ${v} | ${cols.map(cell).join(' | ')} |`);
}
if (args.out) writeFileSync(args.out, JSON.stringify({ args, raw }, null, 1));
