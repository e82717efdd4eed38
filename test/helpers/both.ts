// Engine behaviour through the HTTP API, on both real deployments (test/helpers/deployments.ts):
// embedded (SQLite, in-memory dispatch) and production (PostgreSQL + Redis). One `both()` per test
// file, at its top level:
//
//   const { onBoth, start } = both({ leaseMs: 5000 });
//   onBoth('submits', () => {
//     it('…', async () => {
//       const { docket, base } = await start();
//       …
//     });
//   });
//
// `onBoth` declares a group's tests once per deployment; `start` and `open` give engines of the
// group's deployment (embedded outside any `onBoth`: for what is the HTTP surface's alone). After
// each test everything is closed (what `defer` was given first, last in first out, then servers,
// then engines), the production schema and key prefix are dropped, and the engines' loops must
// have reported no trouble (their `onError`).
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import type { Docket } from '../../src/app/docket.js';
import { buildServer, type ServerOptions } from '../../src/interfaces/http/server.js';
import { testAuth } from './auth.js';
import { deployments, type Deployment, type DeploymentOptions } from './deployments.js';

/** What a test may set on the server, beside the engine's parts and the test tokens' auth. */
export type ServerExtras = Partial<Omit<ServerOptions, 'jobs' | 'workers' | 'recovery'>>;

/** An engine and the API served on it, on 127.0.0.1. */
export interface Started {
  docket: Docket;
  app: FastifyInstance;
  /** The server's address, e.g. http://127.0.0.1:41234 */
  base: string;
}

export interface Both {
  /** Declares `body`'s tests once per deployment, in a describe named `title, <deployment>`. */
  onBoth(title: string, body: (deployment: Deployment) => void): void;
  /** The deployment the enclosing `onBoth` runs on; embedded outside one. */
  deployment(): Deployment;
  /** A started engine of that deployment (options over the file's), closed after the test. */
  open(options?: DeploymentOptions): Promise<Docket>;
  /** `open`, and the API served on it (`server` gives extra server options from the engine). */
  start(options?: DeploymentOptions, server?: (docket: Docket) => ServerExtras): Promise<Started>;
  /** Runs `cleanup` after the test, before what was opened earlier (workers, streams). */
  defer(cleanup: () => Promise<unknown> | unknown): void;
  /** What the loops reported so far in this test; a test that expects trouble takes it (`splice(0)`). */
  troubles: unknown[];
}

/** Registers the file's after-each checks; call once, at the top level of a test file. */
export function both(options: DeploymentOptions = {}): Both {
  const troubles: unknown[] = [];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const onError = (err: unknown) => {
    troubles.push(err);
    options.onError?.(err);
  };
  const all = deployments((c) => cleanups.push(c), { ...options, onError });
  let current: Deployment = all[0]!;

  afterEach(async () => {
    const failures: unknown[] = [];
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
    expect(troubles.splice(0), 'trouble the engine loops reported').toEqual([]);
  });

  const open = async (more: DeploymentOptions = {}) => {
    const docket = await current.open(more);
    cleanups.push(() => docket.close());
    return docket;
  };

  return {
    troubles,
    deployment: () => current,
    defer: (cleanup) => void cleanups.push(cleanup),
    open,
    async start(more = {}, server = () => ({})) {
      const docket = await open(more);
      const app = await buildServer({ auth: testAuth(), ...server(docket), jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps });
      cleanups.push(() => app.close());
      const base = await app.listen({ host: '127.0.0.1', port: 0 });
      return { docket, app, base };
    },
    onBoth(title, body) {
      describe.each(all)(`${title}, $name`, (d) => {
        beforeAll(() => {
          current = d;
        });
        afterAll(() => {
          current = all[0]!;
        });
        body(d);
      });
    },
  };
}
