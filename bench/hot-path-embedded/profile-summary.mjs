// A .cpuprofile's self and inclusive time by function, top N of each:
//   node bench/hot-path-embedded/profile-summary.mjs /tmp/drain.cpuprofile [N]
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const top = Number(process.argv[3] ?? 40);
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const counts = new Map();
for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const total = p.samples.length;
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
const incl = new Map();
for (const [id, k] of counts) {
  const n = byId.get(id);
  self.set(name(n), (self.get(name(n)) ?? 0) + k);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const nm = name(byId.get(cur));
    if (seen.has(nm)) continue;
    seen.add(nm);
    incl.set(nm, (incl.get(nm) ?? 0) + k);
  }
}
const pct = (k) => ((100 * k) / total).toFixed(1).padStart(5) + '%';
console.log(`samples ${total}\n-- self`);
for (const [nm, k] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(k), nm);
console.log('-- inclusive');
for (const [nm, k] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(k), nm);
