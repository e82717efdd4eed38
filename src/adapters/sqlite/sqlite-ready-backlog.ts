import type Database from 'better-sqlite3';
import { dispatchEntryOf, type DispatchEntry } from '../../domain/job.js';
import type { ReadyBacklog, ReadyLane } from '../../ports/dispatch.js';
import * as Q from './queries.js';
import { statementCache } from './statements.js';

type Row = Parameters<typeof dispatchEntryOf>[0];

/** The embedded store's ready jobs, as the in-process dispatch reads past its window. */
export class SqliteReadyBacklog implements ReadyBacklog {
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(db: Database.Database) {
    this.stmt = statementCache(db);
  }

  readyAfter(lane: ReadyLane, after: Pick<DispatchEntry, 'dueAt' | 'id'>, limit: number): DispatchEntry[] {
    const params = { queue: lane.queue, priority: lane.priority, tenant: lane.tenant, type: lane.type, dueAt: after.dueAt, id: after.id, limit };
    const page = JSON.parse((this.stmt(Q.READY_AFTER).get(params) as { page: string }).page) as [string, number, Record<string, string> | null][];
    return page.map(([id, dueAt, labels]) => {
      const e: DispatchEntry = { id, queue: lane.queue, tenant: lane.tenant, priority: lane.priority, dueAt, type: lane.type };
      if (labels) e.labels = labels;
      return e;
    });
  }

  readyOf(ids: readonly string[]): DispatchEntry[] {
    return (this.stmt(Q.READY_OF).all(JSON.stringify(ids)) as Row[]).map(dispatchEntryOf);
  }

  countReady(queue: string): number {
    return (this.stmt(Q.COUNT_READY).get(queue) as { n: number }).n;
  }
}
