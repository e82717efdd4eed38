import type Database from 'better-sqlite3';
import type {
  AddVersionResult,
  DeleteTemplateResult,
  NewTemplateVersion,
  Template,
  TemplatePage,
  TemplateStore,
  TemplateVersion,
} from '../../ports/template-store.js';
import { toTemplate, toVersion, type TemplateRow, type VersionRow } from '../template-rows.js';
import type { SqliteStore } from './sqlite-store.js';
import { statementCache } from './statements.js';
import * as Q from './template-queries.js';

/**
 * Templates in the embedded store's SQLite file (its tables come with the store's migrations).
 * Each multi-statement operation is one IMMEDIATE transaction: it takes the write lock first, so
 * another process cannot slip in between its read and its write.
 */
export class SqliteTemplateStore implements TemplateStore {
  private readonly db: Database.Database;
  private readonly stmt: (sql: string) => Database.Statement;

  constructor(store: SqliteStore) {
    this.db = store.db;
    this.stmt = statementCache(this.db);
  }

  async create(v: NewTemplateVersion): Promise<boolean> {
    return this.db
      .transaction(() => {
        if (this.stmt(Q.INSERT_TEMPLATE).run({ tenant: v.tenant, id: v.id, now: v.now }).changes === 0) return false;
        this.stmt(Q.INSERT_VERSION).run({ ...v, version: 1 });
        return true;
      })
      .immediate();
  }

  async addVersion(v: NewTemplateVersion): Promise<AddVersionResult> {
    return this.db
      .transaction((): AddVersionResult => {
        const next = this.stmt(Q.NEXT_VERSION).get({ tenant: v.tenant, id: v.id, now: v.now }) as { version: number } | undefined;
        if (!next) return { ok: false, reason: this.stmt(Q.GET_RECORD).get(v.tenant, v.id) ? 'retired' : 'not_found' };
        this.stmt(Q.INSERT_VERSION).run({ ...v, version: next.version });
        return { ok: true, version: next.version };
      })
      .immediate();
  }

  async get(tenant: string, id: string): Promise<Template | undefined> {
    const row = this.stmt(Q.GET_TEMPLATE).get(tenant, id) as TemplateRow | undefined;
    return row && toTemplate(row);
  }

  async getVersion(tenant: string, id: string, version: number): Promise<TemplateVersion | undefined> {
    const row = this.stmt(Q.GET_VERSION).get(tenant, id, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async listVersions(tenant: string, id: string): Promise<TemplateVersion[]> {
    return (this.stmt(Q.LIST_VERSIONS).all(tenant, id) as VersionRow[]).map(toVersion);
  }

  async list(tenant: string, limit: number, after?: string): Promise<TemplatePage> {
    const sql = after === undefined ? Q.LIST_TEMPLATES : Q.LIST_TEMPLATES_AFTER;
    const rows = this.stmt(sql).all({ tenant, limit: limit + 1, ...(after === undefined ? {} : { after }) }) as TemplateRow[];
    const templates = rows.slice(0, limit).map(toTemplate);
    return { templates, nextCursor: rows.length > limit ? templates[templates.length - 1]!.id : null };
  }

  async retire(tenant: string, id: string, now: number): Promise<Template | undefined> {
    this.stmt(Q.RETIRE).run({ tenant, id, now });
    return this.get(tenant, id);
  }

  async markUsed(tenant: string, id: string, now: number): Promise<boolean> {
    return this.stmt(Q.MARK_USED).run({ tenant, id, now }).changes === 1;
  }

  async delete(tenant: string, id: string): Promise<DeleteTemplateResult> {
    return this.db
      .transaction((): DeleteTemplateResult => {
        const t = this.stmt(Q.GET_RECORD).get(tenant, id) as { retired_at: number | null; used_at: number | null } | undefined;
        if (!t) return { ok: false, reason: 'not_found' };
        if (t.used_at !== null && (t.retired_at === null || this.stmt(Q.HAS_JOBS).get(id, tenant))) {
          return { ok: false, reason: 'in_use', retired: t.retired_at !== null };
        }
        this.stmt(Q.DELETE_VERSIONS).run(tenant, id);
        this.stmt(Q.DELETE_TEMPLATE).run(tenant, id);
        return { ok: true };
      })
      .immediate();
  }

}
