// The verification snippets of docs/webhooks.md, run exactly as documented (Node, and Python when
// python3 is installed), against signatures Docket's sender makes: what a receiver copies works.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { newSecret, signatureHeader } from '../src/domain/webhooks/signing.js';
import { needTool } from './helpers/tools.js';

const DOC = readFileSync(fileURLToPath(new URL('../docs/webhooks.md', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'docket-webhook-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fenced block of `lang` that contains `marker`. */
function snippet(lang: string, marker: string): string {
  const blocks = [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes(marker));
  if (!block) throw new Error(`docs/webhooks.md has no \`\`\`${lang} block with ${marker}`);
  return block;
}

interface Case {
  name: string;
  secret: string;
  header: string;
  body: string;
  valid: boolean;
}

/** Signed bodies, and the ways a receiver must refuse one. */
function cases(): Case[] {
  const secret = newSecret();
  const now = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ specversion: '1.0', id: '1042', type: 'docket.job.succeeded', tenant: 'acme', data: { jobId: 'j1', note: 'ünïcode ✓' } });
  const good = signatureHeader(secret, now, body);
  const old = signatureHeader(secret, now - 301, body);
  return [
    { name: 'signed now', secret, header: good, body, valid: true },
    { name: 'signed 4 minutes ago', secret, header: signatureHeader(secret, now - 240, body), body, valid: true },
    { name: 'another secret', secret: newSecret(), header: good, body, valid: false },
    { name: 'changed body', secret, header: good, body: body.replace('j1', 'j2'), valid: false },
    { name: 're-serialized body', secret, header: good, body: JSON.stringify(JSON.parse(body), null, 1), valid: false },
    { name: 'outside the replay window', secret, header: old, body, valid: false },
    { name: 'old request with a fresh t', secret, header: old.replace(/^t=\d+/, `t=${now}`), body, valid: false },
    { name: 'no signature', secret, header: `t=${now}`, body, valid: false },
    { name: 'garbage', secret, header: 'nonsense', body, valid: false },
  ];
}

describe('docs/webhooks.md verification snippets', () => {
  it('Node: accepts what Docket signed and refuses the rest', () => {
    const file = join(dir, 'verify.mjs');
    const all = cases();
    writeFileSync(
      file,
      `${snippet('js', 'export function verifyDocketSignature')}
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map((c) => verifyDocketSignature(c.secret, c.header, Buffer.from(c.body, 'utf8')))));
`,
    );
    const run = spawnSync(process.execPath, [file, JSON.stringify(all)], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as boolean[];
    expect(Object.fromEntries(all.map((c, i) => [c.name, results[i]]))).toEqual(Object.fromEntries(all.map((c) => [c.name, c.valid])));
  });

  const python = process.env.PYTHON ?? 'python3';
  const hasPython = needTool('webhook-docs.test.ts', `Python 3 ("${python} --version" failed)`, spawnSync(python, ['--version'], { stdio: 'ignore' }).status === 0, 'apt-get install -y python3');
  it.skipIf(!hasPython)('Python: accepts what Docket signed and refuses the rest', () => {
    const file = join(dir, 'verify.py');
    const all = cases();
    writeFileSync(
      file,
      `${snippet('python', 'def verify_docket_signature')}
import json, sys
cases = json.loads(sys.argv[1])
print(json.dumps([verify_docket_signature(c["secret"], c["header"], c["body"].encode("utf-8")) for c in cases]))
`,
    );
    const run = spawnSync(python, [file, JSON.stringify(all)], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as boolean[];
    expect(Object.fromEntries(all.map((c, i) => [c.name, results[i]]))).toEqual(Object.fromEntries(all.map((c) => [c.name, c.valid])));
  });
});
