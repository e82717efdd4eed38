// Issue 22: /openapi.json as a code generator reads it. Every operation has an operationId, a
// summary and a declared tag, and the document names its server; a client generated from it with
// openapi-typescript (types) and openapi-fetch (6 kB runtime) type-checks and calls the API.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import createClient from 'openapi-fetch';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import { buildServer } from '../src/interfaces/http/server.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { ROOT } from './helpers/cli.js';

// Loosely typed on purpose: the test reads the document as plain JSON, like its users do.
type Json = any;

let docket: Docket;
let app: FastifyInstance;
let base: string;
let doc: Json;
// Inside the checkout (git-ignored), so the generated code resolves openapi-fetch from node_modules.
mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
const dir = mkdtempSync(join(ROOT, 'test-artifacts', 'openapi-client-'));

beforeAll(async () => {
  docket = await openEmbedded({ path: ':memory:' });
  app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), webhooks: docket.webhooks!.service, schedules: docket.schedules });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  doc = await (await fetch(`${base}/openapi.json`)).json();
});

afterAll(async () => {
  await app?.close();
  await docket?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const operations = () => Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })));

describe('the OpenAPI document', () => {
  it('gives every operation a unique operationId, a summary and a declared tag, and names its server', () => {
    const all = operations();
    expect(all.length).toBeGreaterThan(40);
    const declared = new Set((doc.tags as { name: string }[]).map((t) => t.name));
    for (const { name, op } of all) {
      expect(op.operationId, `${name}: operationId`).toMatch(/^[a-z][a-zA-Z]+$/);
      expect(op.summary, `${name}: summary`).toMatch(/\S/);
      expect(op.tags?.length, `${name}: tags`).toBeGreaterThan(0);
      for (const tag of op.tags) expect(declared, `${name}: tag ${tag} is declared`).toContain(tag);
    }
    const ids = all.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
  });
});

describe('a client generated from it', () => {
  it('type-checks with openapi-typescript and calls the API through openapi-fetch', async () => {
    // What a user runs: npx openapi-typescript http://host/openapi.json -o docket-api.d.ts
    const types = astToString(await openapiTS(new URL(`${base}/openapi.json`)));
    writeFileSync(join(dir, 'docket-api.d.ts'), types);
    expect(types).toContain('submitJob: {');

    // The generated types catch a wrong field and a wrong path at compile time.
    writeFileSync(
      join(dir, 'usage.ts'),
      [
        "import createClient from 'openapi-fetch';",
        "import type { paths, operations } from './docket-api.js';",
        "const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:8080' });",
        "export async function run() {",
        "  const { data } = await client.POST('/v1/jobs', { body: { type: 'echo', priority: 2, payload: { to: 'a@b.c' } } });",
        "  const state: string | undefined = data?.state;",
        "  const got = await client.GET('/v1/jobs/{id}', { params: { path: { id: data!.id } } });",
        "  const body: operations['submitJob']['requestBody'] = { content: { 'application/json': { type: 'x' } } };",
        "  type JobInput = operations['submitJob']['requestBody']['content']['application/json'];",
        "  // @ts-expect-error: a typo in a field name (openapi-fetch infers its body, which skips TypeScript's excess-property check: annotate)",
        "  const typo: JobInput = { tpye: 'echo' };",
        "  // @ts-expect-error: priority is a number",
        "  await client.POST('/v1/jobs', { body: { type: 'echo', priority: 'high' } });",
        "  // @ts-expect-error: no such path",
        "  await client.GET('/v1/jobz');",
        "  return [state, got, body, typo];",
        "}",
      ].join('\n'),
    );
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: true, types: [] }, files: ['usage.ts'] }));
    const tsc = await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')]).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(tsc.stdout).toBe('');

    // And at run time, against the server (the types above are for the compiler; here, loose).
    const client = createClient<Json>({ baseUrl: base, headers: { authorization: `Bearer ${await tokenFor('acme', ['admin'])}` } });
    const submitted = await client.POST('/v1/jobs', { body: { type: 'echo', payload: { n: 1 } } });
    expect(submitted.response.status).toBe(201);
    expect(submitted.data).toMatchObject({ id: expect.any(String), state: 'ready' });
    const read = await client.GET('/v1/jobs/{id}', { params: { path: { id: submitted.data.id } } });
    expect(read.data).toMatchObject({ id: submitted.data.id, tenant: 'acme' });
    const bad = await client.POST('/v1/jobs', { body: { tpye: 'echo' } });
    expect(bad.error).toMatchObject({ status: 400, errors: expect.arrayContaining([expect.objectContaining({ path: '/tpye' })]) });
  }, 120_000);
});
