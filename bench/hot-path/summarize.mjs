#!/usr/bin/env node
// Prints the medians (and each round's raw figures) of a run.mjs results file: CPU per job by part,
// WAL, HOT share, the relay's side, and a job's whole life (submit + claim + complete + relay).
//   node bench/hot-path/summarize.mjs bench/hot-path/results/<file>.json
import { readFileSync } from 'node:fs';
import { median } from './lib.mjs';

const { results } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
for (const x of results) x.relay ??= { pgUs: 0, clientUs: 0 }; // runs before the relay was measured
const f1 = (v) => v.toFixed(1);
const life = (x) => x.insert.pgUs + x.insert.clientUs + x.drain.totalUs + x.relay.pgUs + x.relay.clientUs;
const hotShare = (x) => {
  let upd = 0;
  let hot = 0;
  for (const t of Object.values(x.hot)) {
    upd += t.upd;
    hot += t.hot;
  }
  return upd ? `${((100 * hot) / upd).toFixed(0)}%` : '-';
};
console.log('design | claim+complete pg µs | client | redis | total | WAL B | HOT | drain jobs/s | submit pg + client | relay pg + client | relay, text in JS | lifecycle');
for (const d of [...new Set(results.map((x) => x.design))]) {
  const rs = results.filter((x) => x.design === d);
  const m = (g) => median(rs.map(g));
  const js = rs[0].relay.js ? `${f1(m((x) => x.relay.js.pgUs))} + ${f1(m((x) => x.relay.js.clientUs))}` : '-';
  console.log([d, f1(m((x) => x.drain.pgUs)), f1(m((x) => x.drain.clientUs)), f1(m((x) => x.drain.redisUs)), f1(m((x) => x.drain.totalUs)),
    m((x) => x.drain.walB).toFixed(0), rs.map(hotShare).join('/'), m((x) => x.drain.jobsPerSec).toFixed(0),
    `${f1(m((x) => x.insert.pgUs))} + ${f1(m((x) => x.insert.clientUs))}`, `${f1(m((x) => x.relay.pgUs))} + ${f1(m((x) => x.relay.clientUs))}`, js,
    f1(m(life))].join(' | '));
  const ok = rs.every((x) => x.fencing.staleRefused && x.fencing.holderAccepted && x.fencing.secondRefused && x.fencing.running === 'running' && x.fencing.finished === 'succeeded');
  console.log(`   rounds: total ${rs.map((x) => f1(x.drain.totalUs)).join(' / ')}; pg ${rs.map((x) => f1(x.drain.pgUs)).join(' / ')}; lifecycle ${rs.map((x) => f1(life(x))).join(' / ')}; jobs/s ${rs.map((x) => x.drain.jobsPerSec.toFixed(0)).join(' / ')}; fencing ${ok ? 'ok' : 'FAILED'}; refused in drains ${rs.map((x) => x.drain.refused).join(',')}`);
}
