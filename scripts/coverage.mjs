// `npm run coverage [-- vitest args]`: line, branch and function coverage of src/, counting what
// the test process runs and what the processes it spawns run (`docket server`, `docket worker`,
// the CLI, the cluster tests' nodes).
//
// - The test process: vitest's V8 provider (src/ through vite's transform).
// - Spawned processes: they run dist/, built here with source maps; NODE_V8_COVERAGE makes each
//   Node process write its V8 coverage when it exits, and every child inherits it.
// - Both are converted by the same converter (ast-v8-to-istanbul, what vitest uses) onto the
//   TypeScript source, so one statement or branch is one entry whichever process ran it, and the
//   two maps merge by location.
//
// Prints the totals and every file under MIN_FILE_BRANCHES; writes coverage/coverage-final.json
// and an HTML report in coverage/html. Exits 1 when the totals miss the targets below.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import convert from 'ast-v8-to-istanbul';
import libCoverage from 'istanbul-lib-coverage';
import libReport from 'istanbul-lib-report';
import reports from 'istanbul-reports';
import { parseAstAsync } from 'vitest/node';

const MIN_BRANCHES = 85;
const MIN_FILE_BRANCHES = 60;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'coverage');
const RAW = join(OUT, 'raw');
const DIST = pathToFileURL(join(ROOT, 'dist')).href + '/';
const MAPS = join(OUT, 'maps');

rmSync(OUT, { recursive: true, force: true });
mkdirSync(RAW, { recursive: true });

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
// The package build has no source maps (tsconfig.build.json says why), and dist/ stays what
// `npm pack` ships (test/package.test.ts checks it). The same compile with maps goes to MAPS: its
// JavaScript is dist/'s but for the last line (the map's URL), so its maps fit dist/'s code.
execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--sourceMap', 'true', '--outDir', MAPS], { cwd: ROOT, stdio: 'inherit' });

const vitest = spawnSync(
  process.execPath,
  [
    join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run',
    '--coverage.enabled', '--coverage.provider=v8', '--coverage.include=src/**',
    '--coverage.reporter=json', '--coverage.reportsDirectory=coverage/in-process', '--coverage.reportOnFailure',
    // Counting every block slows each process, and the CLI tests run a dozen of them per test.
    '--testTimeout=90000', '--hookTimeout=90000',
    ...process.argv.slice(2),
  ],
  { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_V8_COVERAGE: RAW } },
);

// Istanbul merges two maps of a file by location. Vitest leaves the end column out (null) where a
// file was not loaded in the test process; without it on both sides, a statement that only a
// spawned process ran would count twice, once run and once not.
const looseEnds = (data) => {
  const loose = (loc) => loc?.end && (loc.end.column = null);
  for (const file of Object.values(data)) {
    for (const loc of Object.values(file.statementMap)) loose(loc);
    for (const fn of Object.values(file.fnMap)) [fn.loc, fn.decl].forEach(loose);
    for (const br of Object.values(file.branchMap)) [br.loc, ...br.locations].forEach(loose);
  }
  return data;
};
const map = libCoverage.createCoverageMap(looseEnds(JSON.parse(readFileSync(join(OUT, 'in-process/coverage-final.json'), 'utf8'))));
let spawned = 0;
for (const name of readdirSync(RAW)) {
  const { result } = JSON.parse(readFileSync(join(RAW, name), 'utf8'));
  for (const script of result) {
    if (!script.url.startsWith(DIST) || !script.url.endsWith('.js')) continue;
    const file = fileURLToPath(script.url);
    const mapFile = join(MAPS, `${relative(join(ROOT, 'dist'), file)}.map`);
    if (!existsSync(mapFile)) continue;
    const code = readFileSync(file, 'utf8');
    const sourceMap = JSON.parse(readFileSync(mapFile, 'utf8'));
    sourceMap.sources = sourceMap.sources.map((s) => join(dirname(mapFile), sourceMap.sourceRoot ?? '', s));
    delete sourceMap.sourceRoot;
    map.merge(looseEnds(await convert({ code, sourceMap, ast: parseAstAsync(code), coverage: { url: script.url, functions: script.functions } })));
  }
  spawned++;
}
map.filter((file) => file.startsWith(join(ROOT, 'src')) && !file.endsWith('.d.ts'));

writeFileSync(join(OUT, 'coverage-final.json'), JSON.stringify(map.toJSON()));
const context = libReport.createContext({ dir: join(OUT, 'html'), coverageMap: map, defaultSummarizer: 'flat' });
reports.create('html').execute(context);

const pct = (s) => s.pct.toFixed(1).padStart(5);
const low = [];
for (const file of map.files()) {
  const s = map.fileCoverageFor(file).toSummary();
  if (s.branches.total > 0 && s.branches.pct < MIN_FILE_BRANCHES) low.push([relative(ROOT, file), s]);
}
low.sort((a, b) => a[1].branches.pct - b[1].branches.pct);
const total = map.getCoverageSummary();
console.log(`\ncoverage of src/ (${map.files().length} files; the test process and ${spawned} spawned Node processes)`);
console.log(`  lines ${pct(total.lines)}%  statements ${pct(total.statements)}%  functions ${pct(total.functions)}%  branches ${pct(total.branches)}%  (target ≥ ${MIN_BRANCHES}%)`);
console.log(`files with branches under ${MIN_FILE_BRANCHES}%: ${low.length}`);
for (const [file, s] of low) console.log(`  ${pct(s.branches)}% of ${String(s.branches.total).padStart(4)} branches  ${pct(s.lines)}% lines  ${file}`);
console.log(`report: ${relative(ROOT, join(OUT, 'html/index.html'))}`);

const missed = total.branches.pct < MIN_BRANCHES || low.length > 0;
process.exit(vitest.status !== 0 ? vitest.status ?? 1 : missed ? 1 : 0);
