/**
 * What the systems' worker processes tell the benchmark, over UDP on loopback (~0.05 ms): the
 * same channel for every system, so no system's figures carry a different measuring cost.
 *
 * - `p:<key>`: a probe job's handler started (sent from its first line);
 * - `s:<epoch ms>`: a worker process started its first no-op job (the drain's start);
 * - `c:<pid>:<n>`: a worker process has started n no-op jobs so far (progress, every 200 ms).
 *
 * In-process systems (Docket embedded) call the same methods directly.
 */
import { createSocket, type Socket } from 'node:dgram';

export class Signals {
  private readonly socket: Socket = createSocket('udp4');
  private readonly waiting = new Map<string, (at: number) => void>();
  private readonly early = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  /** Epoch ms of the first no-op start reported since the last reset. */
  firstStart = Infinity;
  port = 0;

  async open(): Promise<void> {
    this.socket.on('message', (msg) => this.receive(msg.toString(), performance.now()));
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.port = this.socket.address().port;
  }

  close(): void {
    this.socket.close();
  }

  receive(text: string, at: number): void {
    const kind = text[0];
    if (kind === 'p') this.probe(text.slice(2), at);
    else if (kind === 's') this.firstStart = Math.min(this.firstStart, Number(text.slice(2)));
    else if (kind === 'c') {
      const [, pid, n] = text.split(':');
      this.counts.set(pid!, Number(n));
    }
  }

  probe(key: string, at: number): void {
    const waiter = this.waiting.get(key);
    if (waiter) waiter(at);
    else this.early.set(key, at);
  }

  /** performance.now() at which the probe `key` started; rejects after timeoutMs. */
  arrival(key: string, timeoutMs: number): Promise<number> {
    const early = this.early.get(key);
    if (early !== undefined) {
      this.early.delete(key);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(new Error(`probe ${key} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(key, (at) => {
        clearTimeout(timer);
        this.waiting.delete(key);
        resolve(at);
      });
    });
  }

  /** No-op jobs started, summed over the worker processes, since the last reset. */
  started(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  reset(): void {
    this.counts.clear();
    this.firstStart = Infinity;
    this.early.clear();
  }
}

/** The worker-process side: what a handler calls. */
export class SignalSender {
  private readonly socket: Socket | null;
  private noops = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly port = Number(process.env.BENCH_SIGNAL_PORT ?? 0)) {
    this.socket = port > 0 ? createSocket('udp4') : null;
    this.socket?.unref();
  }

  probe(key: string): void {
    this.socket?.send(`p:${key}`, this.port, '127.0.0.1');
  }

  noop(): void {
    if (this.noops++ === 0) {
      this.socket?.send(`s:${performance.timeOrigin + performance.now()}`, this.port, '127.0.0.1');
      this.timer = setInterval(() => this.flush(), 200);
      this.timer.unref();
    }
  }

  flush(): void {
    this.socket?.send(`c:${process.pid}:${this.noops}`, this.port, '127.0.0.1');
  }
}
