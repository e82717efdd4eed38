/**
 * The npm package as a user gets it. What `npm pack` would publish holds only what a user needs
 * (no benchmark, no tests, no source map pointing at a file it does not ship, no import of a
 * development dependency); and the packed tarball, installed into a new project without the
 * network, runs the README's TypeScript example as written.
 *
 * Packs the current dist/ (`--ignore-scripts`: `prepare` would rebuild it under the other tests):
 * run `npm run build` first, as for every test that spawns bin/docket.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };
const npm = (args: string[], cwd: string, timeoutMs: number) =>
  run('npm', args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, env: { ...process.env, npm_config_update_notifier: 'false' } });

/** The README's TypeScript example: the ```ts block that embeds the engine and a worker. */
export function readmeExample(readme: string): string {
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const found = blocks.filter((b) => b.includes('openEmbedded') && b.includes('new Worker') && b.includes('LocalTransport'));
  if (found.length !== 1) throw new Error(`README.md: expected one TypeScript block with openEmbedded, Worker and LocalTransport, found ${found.length}`);
  return found[0]!;
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is not built: run `npm run build` first');
});

describe('the packed package', () => {
  it('lists only what a user needs: no benchmark, no tests, no map to a missing file, no development dependency imported', async () => {
    const { stdout } = await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT, 60_000);
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    const shipped = new Set(files);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('bin/docket');
    expect(files).toContain('README.md');

    const outside = files.filter((f) => !/^(bin|dist|examples)\//.test(f) && !/^(README\.md|package\.json|LICENSE(\.\w+)?)$/.test(f));
    expect(outside, 'files outside bin/, dist/, examples/, README, package.json, license').toEqual([]);
    expect(files.filter((f) => /(^|\/)bench(\/|$)/.test(f)), 'benchmark files').toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]sx?$/.test(f)), 'test files').toEqual([]);
    expect(files.filter((f) => /\.[cm]?tsx?$/.test(f) && !/\.d\.[cm]?ts$/.test(f)), 'TypeScript sources').toEqual([]);

    const missing: string[] = [];
    const devImports: string[] = [];
    const allowed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);
    for (const file of files.filter((f) => /\.(m?js|map)$/.test(f))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // A map's sources, and a script's map, must be in the package: a debugger or
      // --enable-source-maps would otherwise look for files the user does not have.
      const refs = file.endsWith('.map')
        ? ((JSON.parse(text) as { sources?: string[]; sourceRoot?: string }).sources ?? []).map((s) => join((JSON.parse(text) as { sourceRoot?: string }).sourceRoot ?? '', s))
        : [...text.matchAll(/^\/\/# sourceMappingURL=(?!data:)(\S+)$/gm)].map((m) => m[1]!);
      for (const ref of refs) {
        const target = normalize(join(dirname(file), ref));
        if (!shipped.has(target)) missing.push(`${file} → ${target}`);
      }
      if (file.endsWith('.map')) continue;
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)) {
        const spec = (m[1] ?? m[2] ?? m[3])!;
        if (spec.startsWith('.') || spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!allowed.has(name)) devImports.push(`${file} imports ${spec}`);
      }
    }
    expect(missing, 'source maps and map references to files the package does not ship').toEqual([]);
    expect(devImports, 'imports of packages that are not dependencies').toEqual([]);
  }, 90_000);
});

describe('the README example through the installed tarball', () => {
  let dir = '';
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs offline and runs to the end: the job succeeds, the worker and the engine stop', async () => {
    dir = mkdtempSync(join(tmpdir(), 'docket-package-'));
    const { stdout: packed } = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT, 60_000);
    const tarball = (JSON.parse(packed) as { filename: string }[])[0]!.filename;

    // The project's lock file, written from the repository's: the dependency tree of Docket's
    // `dependencies` at the versions and integrity hashes the repository tested, so that `npm ci
    // --offline` takes every tarball from the local npm cache (filled by the repository's own
    // `npm ci`) and never asks the registry for a package's metadata.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const spec = `file:${tarball}`;
    const integrity = `sha512-${createHash('sha512').update(readFileSync(join(dir, tarball))).digest('base64')}`;
    const packages: Record<string, unknown> = {
      '': { name: 'readme-example', dependencies: { [pkg.name]: spec } },
      [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, integrity, dependencies: pkg.dependencies, bin: { docket: 'bin/docket' } },
    };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path || entry.dev || entry.link) continue;
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      packages[path] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${String(entry.version)}.tgz` };
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-example', private: true, type: 'module', dependencies: { [pkg.name]: spec } }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'readme-example', lockfileVersion: 3, requires: true, packages }));
    // --ignore-scripts: better-sqlite3's install script downloads a prebuilt addon from GitHub, or
    // else compiles SQLite from C (minutes on two cores). The addon the repository's own install
    // built is the same version for the same Node: it is copied in instead (versions checked).
    await npm(['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir, 180_000);
    const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    const version = (root: string) => (JSON.parse(readFileSync(join(root, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string }).version;
    expect(version(dir)).toBe(version(ROOT));
    mkdirSync(dirname(join(dir, addon)), { recursive: true });
    copyFileSync(join(ROOT, addon), join(dir, addon));

    // The example exactly as the README shows it, compiled as a user's strict TypeScript project
    // would compile it against the package's own declarations.
    writeFileSync(join(dir, 'example.ts'), readmeExample(readFileSync(join(ROOT, 'README.md'), 'utf8')));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, typeRoots: [join(ROOT, 'node_modules/@types')], types: ['node'] },
        files: ['example.ts'],
      }),
    );
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, timeout: 120_000 }).catch((err: { stdout?: string; message: string }) => {
      throw new Error(`the README example does not compile against the installed package:\n${err.stdout ?? err.message}`);
    });

    // It must end by itself: a worker or an engine left running would keep the process alive.
    const { stdout } = await run(process.execPath, ['example.js'], { cwd: dir, timeout: 60_000 }).catch((err: { killed?: boolean; stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`${err.killed ? 'the README example did not exit within 60 s (a worker or engine left running?)' : err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    });
    expect(stdout.trim()).toBe('succeeded { ok: true }');
    expect(existsSync(join(dir, 'data'))).toBe(true);
  }, 420_000);
});
