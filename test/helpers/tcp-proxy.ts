// A TCP proxy in front of an engine, for faults an engine stop cannot time: it forwards both ways,
// and can drop every connection, refuse new ones for a while, or do that the moment a client sends
// a given command (swallowing it, so the client waits for a reply that never comes).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './process.js';

export interface TcpProxy {
  port: number;
  /** Closes every connection and refuses new ones for `ms` (connection refused), then accepts again. */
  outage(ms: number): Promise<void>;
  /**
   * Once a client sends bytes matching `pattern` (say, a SUBSCRIBE), swallows them and starts an
   * outage of `ms`: `fired` resolves then, `over` once connections are accepted again.
   */
  trap(pattern: RegExp, ms: number): { fired: Promise<void>; over: Promise<void> };
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let trap: { pattern: RegExp; ms: number; fired: () => void; over: () => void } | null = null;
  let closed = false;

  const accept = (client: Socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.on('data', (d) => client.write(d));
    client.on('data', (d) => {
      const t = trap;
      if (t && t.pattern.test(d.toString('latin1'))) {
        trap = null;
        t.fired();
        void outage(t.ms).then(t.over);
        return;
      }
      upstream.write(d);
    });
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(accept);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const outage = async (ms: number) => {
    const s = server;
    server = null;
    const stopped = new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await stopped;
    await new Promise((r) => setTimeout(r, ms));
    if (!closed) await listen();
  };
  await listen();
  return {
    port,
    outage,
    trap: (pattern, ms) => {
      let fired = () => {};
      let over = () => {};
      const promises = { fired: new Promise<void>((r) => (fired = r)), over: new Promise<void>((r) => (over = r)) };
      trap = { pattern, ms, fired, over };
      return promises;
    },
    close: async () => {
      closed = true;
      for (const socket of sockets) socket.destroy();
      const s = server;
      server = null;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}
