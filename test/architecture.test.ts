// The layout's rules that a reviewer would otherwise check by eye (docs/architecture.md): the
// transition path is the only writer of job states, and imports point inwards.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
const files = sources(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));

describe('architecture', () => {
  it('only services/jobs/transitions.ts calls the store methods that change a job state', () => {
    const writers = /\.(transition|claimJobs|completeJobs)\(/;
    const callers = files.filter((f) => !f.path.startsWith('adapters/') && !f.path.startsWith('ports/') && writers.test(f.text)).map((f) => f.path);
    expect(callers).toEqual(['services/jobs/transitions.ts']);
  });

  it('imports point inwards: domain and ports import no adapter, service or interface; services import no adapter or interface', () => {
    const importsOf = (text: string) => [...text.matchAll(/(?:from|import) '((?:\.\.?\/)+[^']+)'/g)].map((m) => m[1]!);
    const layer = (file: string, spec: string) => join(file, '..', spec).split('/')[0];
    const banned: Record<string, string[]> = {
      domain: ['adapters', 'services', 'interfaces', 'app', 'sdk'],
      ports: ['adapters', 'services', 'interfaces', 'app', 'sdk'],
      services: ['adapters', 'interfaces', 'app', 'sdk'],
    };
    const wrong = files.flatMap((f) => {
      const own = f.path.split('/')[0]!;
      return importsOf(f.text).flatMap((spec) => ((banned[own] ?? []).includes(layer(f.path, spec)!) ? [`${f.path} -> ${spec}`] : []));
    });
    expect(wrong).toEqual([]);
  });
});
