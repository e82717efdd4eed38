/**
 * Engine outages: which errors mean "PostgreSQL / Redis / Kafka cannot be reached right now" (as
 * opposed to a bug or bad input), and a log that reports each outage once instead of once per
 * retry. The HTTP error handler answers such errors with 503 + Retry-After (docs/reliability.md).
 */

export type EngineName = 'PostgreSQL' | 'Redis' | 'Kafka';

/** SQLSTATEs of a server that is going away or not accepting sessions yet. */
const PG_UNAVAILABLE = new Set([
  '57P01', // admin_shutdown: the server was stopped or its backend killed
  '57P02', // crash_shutdown: another backend crashed, every session is reset
  '57P03', // cannot_connect_now: "the database system is starting up" / "in recovery mode"
  '53300', // too_many_connections
]);
/** node-postgres and pg-pool messages for a connection that broke or never came. */
const PG_MESSAGES = [/^Connection terminated/, /timeout exceeded when trying to connect/, /is not queryable/, /^Query read timeout/];
/** Socket errors. Only node-postgres lets these reach a caller: ioredis retries them (below). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** ioredis while disconnected: a command that outlived its retries, or sent to a closed connection. */
const REDIS_MESSAGES = [/^Connection is closed\.?$/, /^Stream isn't writeable/, /^LOADING /];
/** @platformatic/kafka: the broker did not answer; Docket's bus: it has not answered since start (KafkaTopicsNotReadyError). */
const KAFKA_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', 'DOCKET_KAFKA_NOT_READY']);

/** The engine an error says is unreachable, or null when the error is anything else. */
export function outageOf(err: unknown): EngineName | null {
  if (!(err instanceof Error)) return null;
  const e = err as Error & { code?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.some((m) => m.test(e.message))) return 'Redis';
  if (KAFKA_CODES.has(code)) return 'Kafka';
  if (code === 'PLT_KFK_MULTIPLE' && Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => outageOf(x) === 'Kafka')) return 'Kafka';
  if (code.startsWith('08') || PG_UNAVAILABLE.has(code) || PG_MESSAGES.some((m) => m.test(e.message))) return 'PostgreSQL';
  if (SOCKET_CODES.has(code)) return 'PostgreSQL';
  return null;
}

const UNPROBED_REPEAT_MS = 60_000;

/** Seconds a client should wait before retrying a request refused during an outage. */
export const RETRY_AFTER_SECONDS = 5;

export interface OutageLogOptions {
  /** Errors that are not outages, and the first error of each outage, with what failed when the reporter said. */
  onError: (err: unknown, what?: string) => void;
  /** An engine is back (said once per outage), with how long it was gone and the errors not logged. */
  onRecovered: (engine: EngineName, downMs: number, suppressed: number) => void;
  /** Readiness checks by engine: while one is down, it is polled to tell when the outage ends. */
  probes: Partial<Record<EngineName, () => Promise<void>>>;
  /** @defaultValue 1000 ms */
  probeMs?: number;
}

/**
 * Reports each engine outage once. Every pool, client and maintenance loop reports its errors here;
 * during an outage the same failure arrives many times a second from each of them (a relay step every
 * 50 ms, every reconnect attempt). The first is logged; the rest are counted until the engine's probe
 * answers again, and then one line says it is back.
 */
export class OutageLog {
  private readonly down = new Map<EngineName, { since: number; suppressed: number; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(private readonly options: OutageLogOptions) {}

  /**
   * `engine`: the error came from that engine's client ('error' events): a socket error there is its
   * outage. `what`: what failed ("claim failed"), for the log line.
   */
  readonly report = (err: unknown, engine: EngineName | null = outageOf(err), what?: string): void => {
    if (!engine || this.closed) {
      if (!this.closed) this.options.onError(err, what);
      return;
    }
    const outage = this.down.get(engine);
    if (outage) {
      outage.suppressed++;
      return;
    }
    this.options.onError(err, what);
    const probe = this.options.probes[engine];
    // No probe (Kafka: the relay's next publish is its probe): while errors go on, one a minute is logged.
    const timer = setTimeout(() => (probe ? void this.check(engine, probe) : this.down.delete(engine)), probe ? (this.options.probeMs ?? 1000) : UNPROBED_REPEAT_MS);
    timer.unref();
    this.down.set(engine, { since: Date.now(), suppressed: 0, timer });
  };

  close(): void {
    this.closed = true;
    for (const o of this.down.values()) clearTimeout(o.timer);
    this.down.clear();
  }

  private async check(engine: EngineName, probe: () => Promise<void>): Promise<void> {
    const outage = this.down.get(engine);
    if (!outage || this.closed) return;
    const up = await probe().then(
      () => true,
      () => false,
    );
    if (this.closed) return;
    if (up) {
      this.down.delete(engine);
      this.options.onRecovered(engine, Date.now() - outage.since, outage.suppressed);
      return;
    }
    outage.timer = setTimeout(() => void this.check(engine, probe), this.options.probeMs ?? 1000);
    outage.timer.unref();
  }
}
