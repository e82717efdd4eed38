import pg from 'pg';
import type { Leadership } from '../../ports/leadership.js';

export interface PostgresLeadershipOptions {
  connectionString: string;
  /** Advisory lock key; processes of one cluster share it. @defaultValue a fixed Docket key */
  lockKey?: bigint;
  /** How often a follower tries to take over and a leader checks it still holds its session. @defaultValue 1000 ms */
  checkMs?: number;
  onError?: (err: unknown) => void;
}

/** 'dock' 'et  ' as a 64-bit number: the cluster's leadership lock. */
const DEFAULT_KEY = 0x646f636b65742020n;

/**
 * Leader election on a PostgreSQL session advisory lock, held on a dedicated connection. The lock
 * lives exactly as long as that session: if the leader process dies (even SIGKILL), PostgreSQL sees
 * the socket close, ends the session and frees the lock, and the next follower's try (every
 * `checkMs`) takes it. A leader whose connection fails steps down at once. No consensus of our own.
 */
export class PostgresLeadership implements Leadership {
  isLeader = false;
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private onChange: (leader: boolean) => void = () => {};
  private stopped = false;
  private readonly key: string;
  private readonly checkMs: number;

  constructor(private readonly options: PostgresLeadershipOptions) {
    this.key = String(options.lockKey ?? DEFAULT_KEY);
    this.checkMs = options.checkMs ?? 1000;
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = null;
    if (this.isLeader) this.step(false);
    // Closing the session frees the lock for the next leader at once.
    await client?.end().catch(() => {});
  }

  private async tick(): Promise<void> {
    try {
      const client = await this.connection();
      if (this.isLeader) {
        await client.query('SELECT 1'); // still our session, so still our lock
      } else {
        const { rows } = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS got', [this.key]);
        if (rows[0]?.got) this.step(true);
      }
    } catch (err) {
      this.lose(err);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.checkMs);
  }

  private async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'docket-leader',
      // A leader whose host vanishes (no FIN, no RST) must lose the lock in seconds, not after the
      // server's default 2 h keepalive: probe the session from both ends, and never wait on a
      // check longer than a few intervals.
      options: '-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3',
      keepAlive: true,
      keepAliveInitialDelayMillis: 5000,
      query_timeout: this.checkMs * 3,
    });
    // Errors of a client that is no longer ours (one that never connected, or was already given
    // up) must not touch the current session: a broken socket can emit more than one.
    client.on('error', (err) => (client === this.client ? this.lose(err) : undefined));
    try {
      await client.connect();
    } catch (err) {
      void client.end().catch(() => {});
      throw err;
    }
    this.client = client;
    return client;
  }

  /** The session is gone or unusable: so is the lock, and the duties it guards stop at once. */
  private lose(err: unknown): void {
    const client = this.client;
    this.client = null;
    void client?.end().catch(() => {});
    if (this.isLeader) this.step(false);
    if (!this.stopped) this.options.onError?.(err);
  }

  private step(leader: boolean): void {
    this.isLeader = leader;
    this.onChange(leader);
  }
}
