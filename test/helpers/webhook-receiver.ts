import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { within } from './process.js';

/** One request the receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The status it answered (null: it never answered). */
  answered: number | null;
  /** The parsed envelope. */
  event: { id: string; type: string; tenant: string; subject: string; data: Record<string, unknown> };
}

/** How the receiver answers request number `n` (0-based): a status, 'hang' (never answers), or a status later. */
export type Responder = (received: Received, n: number) => number | 'hang' | Promise<number>;

export interface Receiver {
  url: string;
  received: Received[];
  /** Replaces how it answers from now on. */
  respond(responder: Responder): void;
  /** Resolves once `count` requests arrived (the first `count`); rejects after `timeoutMs` saying what it got. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * The networks a test engine must open for these receivers (config `webhooks.allowPrivateNetworks`):
 * they listen on 127.0.0.1, a loopback address webhooks may not reach by default.
 */
export const LOCAL_RECEIVERS = ['127.0.0.1/32'];

/** A real HTTP receiver on a free local port, as a webhook subscriber would run one. */
export async function startReceiver(responder: Responder = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  /** Checks of the tests waiting for requests; each says whether it is done. */
  let waiting: (() => boolean)[] = [];
  let respond = responder;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { headers: req.headers, body, answered: null, event: JSON.parse(body) };
      const n = received.length;
      received.push(r);
      waiting = waiting.filter((done) => !done());
      const answer = respond(r, n);
      if (answer === 'hang') return;
      void Promise.resolve(answer).then((status) => {
        r.answered = status;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/docket`,
    received,
    respond: (r) => (respond = r),
    waitFor(count, timeoutMs = 20_000) {
      const arrived = new Promise<Received[]>((resolve) => {
        const done = () => received.length >= count && (resolve(received.slice(0, count)), true);
        if (!done()) waiting.push(done);
      });
      return within(`${count} requests`, arrived, timeoutMs).catch(() => {
        throw new Error(`receiver got ${received.length} requests, waited for ${count}: ${received.map((r) => r.event.type).join(', ')}`);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The receiver's signature check, written from docs/webhooks.md alone: parse
 * `Docket-Signature: t=<unix s>,v1=<hex>`, refuse a timestamp outside the replay window, compare
 * HMAC-SHA256(secret, `${t}.${raw body}`) in constant time.
 */
export function verifyDocketSignature(secret: string, header: string | string[] | undefined, rawBody: string, toleranceSeconds = 300): boolean {
  if (typeof header !== 'string') return false;
  const fields = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  if (!Number.isInteger(t) || Math.abs(Math.floor(Date.now() / 1000) - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`, 'utf8').digest();
  const given = Buffer.from(fields.get('v1') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
