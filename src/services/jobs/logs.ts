import { droppedMarker, type LogLine, type NewLogLine, type ReportedLogLine } from '../../domain/job-log.js';
import type { JobLogStore, LogPage, LogQuery } from '../../ports/job-log-store.js';
import { Batcher } from '../batcher.js';

/**
 * Job logs (docs/logs.md): lines handlers write through `ctx.log`, per job and attempt. Writes of
 * every job are grouped into one store transaction (a Batcher), and nothing happens for a job that
 * logs nothing. Without a log store (a Store of a test's own), lines are dropped and reads are empty.
 */
export class JobLogs {
  private readonly batcher: Batcher<NewLogLine[], undefined>;
  private readonly listeners = new Set<(jobIds: ReadonlySet<string>) => void>();

  constructor(
    private readonly store: JobLogStore | null,
    readonly capBytes: number,
  ) {
    this.batcher = new Batcher(async (batches) => {
      const lines = batches.flat();
      await store?.append(lines, capBytes);
      if (this.listeners.size > 0) {
        const jobs = new Set(lines.map((l) => l.jobId));
        for (const listener of this.listeners) listener(jobs);
      }
      return batches.map(() => undefined);
    }, 100);
  }

  /** Keeps lines of one attempt of a job. */
  append(jobId: string, attempt: number, lines: readonly ReportedLogLine[]): Promise<undefined> {
    if (lines.length === 0) return Promise.resolve(undefined);
    return this.batcher.add(lines.map((l) => ({ ...l, jobId, attempt })));
  }

  /**
   * A page of a job's lines. Read from the start (`after` 0), a log whose oldest lines were dropped
   * begins with a marker line (id 0) that says how many.
   */
  async read(jobId: string, query: LogQuery): Promise<LogPage> {
    if (!this.store) return { lines: [], dropped: 0 };
    const page = await this.store.read(jobId, query);
    const lines: LogLine[] = query.after === 0 && page.dropped > 0 ? [droppedMarker(jobId, page.dropped, this.capBytes, page.lines[0]?.at ?? 0), ...page.lines] : page.lines;
    return { lines, dropped: page.dropped };
  }

  /** Calls `listener` with the jobs whose lines were just written by this process; returns an unsubscribe. */
  onAppended(listener: (jobIds: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the logs of deleted jobs. */
  async delete(jobIds: readonly string[]): Promise<void> {
    await this.store?.delete(jobIds);
  }

  /** Resolves when every line appended so far is written. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
