// Issue 22: the TypeScript SDK's types as a user meets them. test/fixtures/typed-usage.ts uses the
// package the way the README does; tsc --noEmit must accept it, and each line marked
// `@ts-expect-error` (a misspelt field, a wrong type, an unknown event) must be a compile error.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const FIXTURE = join(ROOT, 'test/fixtures/typed-usage.ts');
const WORK = join(ROOT, 'test-artifacts/sdk-types');
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** tsc --noEmit over the files in one program, strict as a user's project would be; its error lines. */
async function compile(files: string[]): Promise<string[]> {
  const args = [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--types', 'node', ...files];
  const out = await promisify(execFile)(process.execPath, args, { cwd: ROOT }).then(
    (r) => r.stdout,
    (err: { stdout: string }) => err.stdout,
  );
  return out.split('\n').filter((l) => /error TS\d+/.test(l));
}

describe('the SDK types', () => {
  it('accept typed use and refuse misuse at compile time', { timeout: 400_000 }, async () => {
    // The fixture, and a copy without the markers, in which every marked line must be an error
    // and no other line may be. One tsc run for both: type-checking the package takes a while.
    const lines = readFileSync(FIXTURE, 'utf8').split('\n');
    const marker = /^\s*\/\/ @ts-expect-error/;
    const marked = lines.flatMap((l, i) => (marker.test(l) ? [i + 2] : [])); // the line after, 1-based
    expect(marked.length).toBeGreaterThanOrEqual(9);
    mkdirSync(WORK, { recursive: true });
    const bare = join(WORK, 'typed-usage.ts'); // as deep as test/fixtures: the import path holds
    writeFileSync(bare, lines.map((l) => (marker.test(l) ? '//' : l)).join('\n'));

    const errors = await compile([FIXTURE, bare]);
    expect(errors.filter((e) => e.startsWith('test/fixtures/'))).toEqual([]);
    const errorLines = new Set(errors.filter((e) => e.startsWith('test-artifacts/')).map((e) => Number(/\((\d+),\d+\)/.exec(e)![1])));
    expect([...errorLines].sort((a, b) => a - b)).toEqual(marked);
  });
});
