// Issue 22: every command the README shows works as shown, with the role it says. The README's
// `sh`/`bash` blocks run in order, in one bash, against a `docket server` this test starts
// (embedded, a temporary data dir, a free port), and each command must exit 0 (`set -e`, and
// `pipefail` for pipes). How the README is read:
// - `8080` in a block becomes the server's port; the shell has DOCKET_DATA_DIR (so `bin/docket
//   token` signs with the server's secret) and DOCKET_URL, as for a user who ran `npm start`;
// - the blocks run in a temporary directory holding `bin` and `examples` of this checkout, so files
//   they write (job.json, jobs.ndjson) land there;
// - a block after a line `<!-- test: skip (why) -->` is not run (it installs, starts servers, or
//   reaches beyond this machine); the README says so where it describes `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUp, ROOT, startServer, tempDir } from './helpers/cli.js';
import { cleanEnv } from './helpers/process.js';
import { needTool } from './helpers/tools.js';

afterAll(cleanUp);

export interface ShellBlock {
  /** Line of the opening fence (1-based). */
  line: number;
  text: string;
  /** The reason given in `<!-- test: skip (why) -->`, else null. */
  skip: string | null;
}

const SKIP = /^<!--\s*test:\s*skip\b\s*(?:\((.*)\))?\s*-->$/;

/** The ```sh and ```bash blocks of a Markdown text, with their skip marks. */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(sh|bash)\s*$/.test(lines[i]!)) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never ends`);
    const mark = SKIP.exec(lines[i - 1]?.trim() ?? '');
    blocks.push({ line: i + 1, text: lines.slice(i + 1, end).join('\n'), skip: mark ? (mark[1] ?? 'no reason given') : null });
    i = end;
  }
  return blocks;
}

const jq = needTool('readme.test.ts', 'jq', spawnSync('jq', ['--version']).status === 0, 'apt-get install jq');

describe.skipIf(!jq)("the README's shell blocks", { timeout: 240_000 }, () => {
  it('run in order against a real server, every command exiting 0', async () => {
    const blocks = shellBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    const run = blocks.filter((b) => b.skip === null);
    // The quick start's curl cycle and the CLI tour at least.
    expect(run.length).toBeGreaterThanOrEqual(2);
    for (const b of blocks) if (b.skip !== null) expect(b.skip, `README.md:${b.line}: say why it is skipped`).not.toBe('no reason given');

    const data = tempDir();
    const server = await startServer(data);
    const port = new URL(server.url).port;
    const work = mkdtempSync(join(tmpdir(), 'docket-readme-'));
    symlinkSync(join(ROOT, 'bin'), join(work, 'bin'));
    symlinkSync(join(ROOT, 'examples'), join(work, 'examples'));
    const script = [
      'set -eo pipefail',
      `trap 'echo "::failed: $BASH_COMMAND (exit $?)" >&2' ERR`,
      ...run.flatMap((b) => [`echo "::block README.md:${b.line}" >&2`, b.text.replaceAll(':8080', `:${port}`), `echo "::done README.md:${b.line}" >&2`]),
    ].join('\n');
    const shell = spawn('bash', ['-c', script], { cwd: work, env: cleanEnv({ DOCKET_DATA_DIR: data, DOCKET_URL: server.url }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    shell.stdout.on('data', (d) => (output += d));
    shell.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => shell.kill('SIGKILL'), 180_000);
    const code = await new Promise<number | null>((resolve) => shell.once('close', resolve));
    clearTimeout(timer);

    expect(code, output).toBe(0);
    expect([...output.matchAll(/::done (README\.md:\d+)$/gm)].map((m) => m[1]), output).toEqual(run.map((b) => `README.md:${b.line}`));
  });
});
