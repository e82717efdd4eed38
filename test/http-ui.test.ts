// The dashboard's files as the server serves them (src/interfaces/http/routes/ui.ts), with and without a build.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth } from './helpers/auth.js';

let docket: Docket | undefined;
let app: FastifyInstance | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await app?.close();
  await docket?.stop();
  app = docket = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(ui: string) {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), ui });
  return app;
}

function built(): string {
  const dir = mkdtempSync(join(tmpdir(), 'docket-ui-dist-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(join(dir, 'assets', 'index-AbC_1-2.js'), 'console.log(1)');
  return dir;
}

describe('dashboard routes', () => {
  it('serves index.html at / and at every page address, assets with long caching, and nothing else', async () => {
    const server = await serve(built());
    for (const url of ['/', '/jobs', '/jobs/0199abc', '/dead-letters', '/sign-in?next=%2Fjobs']) {
      const res = await server.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.body).toContain('<div id="app">');
    }
    const js = await server.inject({ url: '/assets/index-AbC_1-2.js' });
    expect(js.headers['content-type']).toContain('text/javascript');
    expect(js.headers['cache-control']).toContain('immutable');
    for (const url of ['/assets/missing.js', '/assets/..%2Findex.html', '/assets/x.exe']) expect((await server.inject({ url })).statusCode, url).toBe(404);
    // API paths keep their own answers: a problem, not the app.
    const unknown = await server.inject({ url: '/nowhere' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toContain('application/problem+json');
    expect((await server.inject({ url: '/v1/jobs' })).statusCode).toBe(401);
    expect((await server.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
  });

  it('says how to build the dashboard when dist/ui is missing, and the API still works', async () => {
    const server = await serve(join(tmpdir(), 'docket-no-such-ui-dir'));
    const res = await server.inject({ url: '/' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('npm run build');
    expect((await server.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
