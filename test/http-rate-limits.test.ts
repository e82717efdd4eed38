// HTTP rate limits (per tenant, per token) on both limiters the server runs: in memory (one API
// process) and in Redis (production: shared by every API process; each test its own key prefix).
// The limits' clock is a manual one that the test moves, so every count is exact and asserted from
// both sides, at a slow and a fast rate: a bucket never admits more than its burst plus its rate
// times the time passed, and a client keeping to the rate is never refused. RateLimit-* and
// Retry-After carry exact values.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryRateLimiter } from '../src/adapters/memory/memory-rate-limiter.js';
import { RedisRateLimiter } from '../src/adapters/redis/redis-rate-limiter.js';
import { openEmbedded, type Docket } from '../src/app/docket.js';
import type { RateRule } from '../src/domain/token-bucket.js';
import type { RateLimits } from '../src/interfaces/http/rate-limit.js';
import { buildServer } from '../src/interfaces/http/server.js';
import type { RateLimiter } from '../src/ports/rate-limiter.js';
import { DocketClient } from '../src/sdk/client.js';
import { testAuth, tokenFor } from './helpers/auth.js';
import { openTestPrefix } from './helpers/redis.js';

/** A limiter for each API process of a test; processes of one test share the buckets, as in production. */
interface Limiters {
  forProcess(): RateLimiter;
  close(): Promise<void>;
}

const LIMITERS: { name: string; open(): Promise<Limiters> }[] = [
  {
    name: 'memory',
    async open() {
      const one = new MemoryRateLimiter();
      return { forProcess: () => one, close: () => one.close() };
    },
  },
  {
    name: 'redis',
    async open() {
      const prefix = await openTestPrefix();
      const made: RedisRateLimiter[] = [];
      return {
        forProcess() {
          const l = new RedisRateLimiter({ url: prefix.url, prefix: prefix.prefix });
          made.push(l);
          return l;
        },
        async close() {
          for (const l of made) await l.close();
          await prefix.cleanup();
        },
      };
    },
  },
];

/**
 * A slow and a fast rule. `stepMs` is how far a greedy client's clock moves between rounds of
 * requests; a step earns a whole or a binary fraction of a token (0.25, 1), so float sums are exact.
 */
const SETTINGS: { name: string; rule: RateRule; stepMs: number; steps: number; refused: { retryAfter: string; reset: string } }[] = [
  // One request every 2 s, two at once after a quiet spell: an empty bucket is full after 4 s.
  { name: 'slow (0.5/s, burst 2)', rule: { perSecond: 0.5, burst: 2 }, stepMs: 500, steps: 24, refused: { retryAfter: '2', reset: '4' } },
  // A token every millisecond: Retry-After and Reset round up to a whole second.
  { name: 'fast (1,000/s, burst 20)', rule: { perSecond: 1000, burst: 20 }, stepMs: 1, steps: 100, refused: { retryAfter: '1', reset: '1' } },
];

const T0 = Date.UTC(2026, 5, 1);

let docket: Docket | undefined;
let limiters: Limiters | undefined;
const servers: FastifyInstance[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  await limiters?.close();
  await docket?.stop();
  docket = limiters = undefined;
});

interface Api {
  clock: ManualClock;
  get(token: string, path?: string): Promise<Reply>;
  base: string;
}

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

/** An API process on the test's engine and limiters, its rate limits on a manual clock of its own. */
async function api(limits: Pick<RateLimits, 'tenant' | 'token'>, clock = new ManualClock(T0)): Promise<Api> {
  docket ??= await openEmbedded({ path: ':memory:' });
  const app = await buildServer({ jobs: docket.jobs, workers: docket.workers, recovery: docket.recoveryOps, auth: testAuth(), rateLimits: { limiter: limiters!.forProcess(), clock, ...limits } });
  servers.push(app);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    clock,
    base,
    async get(token, path = '/v1/queues') {
      const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    },
  };
}

const header = (r: Reply, name: string) => r.headers.get(name);

/**
 * Admission times (ms since T0) that fit no window: for every pair of admitted requests, the
 * requests admitted from the first to the second are at most the burst plus what the rate earns
 * between them.
 */
function overfullWindows(admitted: number[], rule: RateRule): string[] {
  const bad: string[] = [];
  for (let i = 0; i < admitted.length; i++) {
    for (let j = i; j < admitted.length; j++) {
      const allowed = rule.burst + Math.floor(((admitted[j]! - admitted[i]!) * rule.perSecond) / 1000);
      if (j - i + 1 > allowed) bad.push(`${j - i + 1} admitted in [${admitted[i]}, ${admitted[j]}] ms, at most ${allowed}`);
    }
  }
  return bad;
}

for (const { name: limiterName, open } of LIMITERS) {
  describe(`HTTP rate limits, ${limiterName} limiter`, () => {
    const start = async () => {
      limiters = await open();
    };

    for (const { name, rule, stepMs, steps, refused } of SETTINGS) {
      describe(name, () => {
        it('admits exactly the burst at one instant, with exact RateLimit headers; refuses the next with the exact Retry-After', async () => {
          await start();
          const server = await api({ tenant: rule });
          const token = await tokenFor('acme', ['viewer']);
          for (let i = 1; i <= rule.burst; i++) {
            const r = await server.get(token);
            expect(r.status, `request ${i}`).toBe(200);
            expect(header(r, 'ratelimit-limit')).toBe(String(rule.burst));
            expect(header(r, 'ratelimit-remaining')).toBe(String(rule.burst - i));
            // Until full again: the i tokens taken, each back after 1/rate s, rounded up to a second.
            expect(header(r, 'ratelimit-reset')).toBe(String(Math.ceil(i / rule.perSecond)));
          }
          const no = await server.get(token);
          expect(no.status).toBe(429);
          expect(no.body).toMatchObject({ status: 429, type: 'urn:docket:problem:rate-limited' });
          expect({ retryAfter: header(no, 'retry-after'), reset: header(no, 'ratelimit-reset') }).toEqual(refused);
          expect(header(no, 'ratelimit-remaining')).toBe('0');
          expect(header(no, 'ratelimit-limit')).toBe(String(rule.burst));

          // The next token is back exactly one period (1/rate) later: refused a millisecond before, admitted at it.
          const periodMs = 1000 / rule.perSecond;
          server.clock.advance(periodMs - 1);
          const early = await server.get(token);
          expect(early.status).toBe(429);
          expect(header(early, 'retry-after')).toBe('1'); // a millisecond left, rounded up to a second
          server.clock.advance(1);
          const back = await server.get(token);
          expect(back.status).toBe(200);
          expect(header(back, 'ratelimit-remaining')).toBe('0');
          expect((await server.get(token)).status).toBe(429);
          // Retry-After never promises too early: a client refused a quarter period into its wait
          // (1.5 s left at 0.5/s: told 2 s, not 1 s) that waits as told is admitted.
          server.clock.advance(Math.floor(periodMs / 4));
          const wait = await server.get(token);
          expect(wait.status).toBe(429);
          server.clock.advance(Number(header(wait, 'retry-after')) * 1000);
          expect((await server.get(token)).status).toBe(200);
        });

        it(`a client hammering for ${steps} steps of ${stepMs} ms is admitted exactly the burst plus the rate times the time passed, never more in any window`, async () => {
          await start();
          const server = await api({ tenant: rule });
          const token = await tokenFor('acme', ['viewer']);
          // More requests each step than a step earns, so the client is always over its rate.
          const perStep = Math.ceil((rule.perSecond * stepMs) / 1000) + 1;
          const admitted: number[] = [];
          const round = async (n: number) => {
            for (let i = 0; i < n; i++) {
              const r = await server.get(token);
              expect([200, 429]).toContain(r.status);
              if (r.status === 200) admitted.push(server.clock.now() - T0);
            }
          };
          await round(rule.burst + 1);
          expect(admitted).toHaveLength(rule.burst);
          for (let step = 1; step <= steps; step++) {
            server.clock.advance(stepMs);
            await round(perStep);
            const elapsed = step * stepMs;
            expect(admitted.length, `admitted after ${elapsed} ms`).toBe(rule.burst + Math.floor((elapsed * rule.perSecond) / 1000));
          }
          expect(overfullWindows(admitted, rule)).toEqual([]);
        });

        it('a client keeping to the rate after spending its burst is never refused; one more request is', async () => {
          await start();
          const server = await api({ tenant: rule });
          const token = await tokenFor('acme', ['viewer']);
          for (let i = 0; i < rule.burst; i++) expect((await server.get(token)).status).toBe(200);
          const periodMs = 1000 / rule.perSecond;
          const statuses: number[] = [];
          for (let n = 0; n < steps; n++) {
            server.clock.advance(periodMs);
            const r = await server.get(token);
            statuses.push(r.status);
            expect(header(r, 'ratelimit-remaining')).toBe('0');
          }
          expect(statuses).toEqual(Array(steps).fill(200));
          expect((await server.get(token)).status).toBe(429);
        });

        if (limiterName === 'redis') {
          it('two API processes whose clocks are 1 s apart hold a client hammering both to one bucket: exactly the burst plus the rate times the time passed', async () => {
            await start();
            const ahead = await api({ tenant: rule }, new ManualClock(T0 + 1000));
            const behind = await api({ tenant: rule });
            const token = await tokenFor('acme', ['viewer']);
            const perStep = Math.ceil((rule.perSecond * stepMs) / 1000) + 1;
            let admitted = 0;
            const round = async (server: Api, n: number) => {
              for (let i = 0; i < n; i++) if ((await server.get(token)).status === 200) admitted++;
            };
            await round(ahead, rule.burst + 1);
            await round(behind, 1);
            expect(admitted).toBe(rule.burst);
            for (let step = 1; step <= steps; step++) {
              for (const s of [ahead, behind]) s.clock.advance(stepMs);
              // The process behind after the one ahead: its earlier "now" must not move the bucket's time back.
              await round(ahead, perStep);
              await round(behind, perStep);
              const elapsed = step * stepMs;
              expect(admitted, `admitted after ${elapsed} ms`).toBe(rule.burst + Math.floor((elapsed * rule.perSecond) / 1000));
            }
          });
        }
      });
    }

    it("a tenant's bucket is shared by its tokens; other tenants, 401s and health probes take nothing from it", async () => {
      await start();
      const rule = SETTINGS[0]!.rule;
      const server = await api({ tenant: rule });
      const acme = await tokenFor('acme', ['submitter']);
      const acme2 = await tokenFor('acme', ['viewer']);
      const globex = await tokenFor('globex', ['submitter']);
      for (let i = 0; i < 8; i++) {
        const r = await server.get(i % 2 ? 'not-a-jwt' : '');
        expect(r.status).toBe(401);
        expect(header(r, 'ratelimit-remaining')).toBeNull();
      }
      expect((await server.get('', '/healthz')).status).toBe(200);

      expect(header(await server.get(acme), 'ratelimit-remaining')).toBe('1');
      expect(header(await server.get(acme2), 'ratelimit-remaining')).toBe('0');
      const refused = await server.get(acme);
      expect(refused.status).toBe(429);
      expect(refused.body.detail).toContain('acme');
      expect((await server.get(acme2)).status).toBe(429);
      // The SDK hands the client Retry-After.
      await expect(new DocketClient({ baseUrl: server.base, token: acme }).list()).rejects.toMatchObject({ status: 429, retryAfter: 2 });

      const other = await server.get(globex);
      expect(other.status).toBe(200);
      expect(header(other, 'ratelimit-remaining')).toBe('1');
    });

    it("with a per-token rule, each token has its own bucket, and the tighter bucket's headers are shown", async () => {
      await start();
      const server = await api({ token: { perSecond: 2, burst: 3 }, tenant: { perSecond: 100, burst: 100 } });
      const first = await tokenFor('acme', ['submitter']);
      const second = await tokenFor('acme', ['submitter']);
      for (const expected of ['2', '1', '0']) {
        const r = await server.get(first);
        expect(r.status).toBe(200);
        expect(header(r, 'ratelimit-limit')).toBe('3');
        expect(header(r, 'ratelimit-remaining')).toBe(expected);
      }
      const refused = await server.get(first);
      expect(refused.status).toBe(429);
      expect(header(refused, 'retry-after')).toBe('1'); // half a second, rounded up
      expect(header(refused, 'ratelimit-reset')).toBe('2'); // three tokens at 2/s: 1.5 s
      expect(refused.body.detail).toContain('token');

      const fresh = await server.get(second);
      expect(fresh.status).toBe(200);
      expect(header(fresh, 'ratelimit-remaining')).toBe('2');
    });
  });
}
