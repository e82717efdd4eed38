import type pg from 'pg';
import { inTransaction } from './transaction.js';
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
import type { PostgresStore } from './postgres-store.js';
import { PG_TYPES } from './rows.js';
import * as Q from './template-queries.js';

type StateRow = { retired_at: number | null; used_at: number | null };

/**
 * Templates in the production store's database, on its pool (so in its schema: the pool's
 * connections carry the store's search_path). Creating and versioning are one statement each;
 * a delete is a transaction that locks the template row first.
 */
export class PostgresTemplateStore implements TemplateStore {
  private readonly pool: pg.Pool;

  constructor(store: PostgresStore) {
    this.pool = store.pool;
  }

  async create(v: NewTemplateVersion): Promise<boolean> {
    const { rowCount } = await this.query('docket_create_template', Q.CREATE_TEMPLATE, [v.tenant, v.id, v.description, v.defaultsJson, v.now]);
    return rowCount === 1;
  }

  async addVersion(v: NewTemplateVersion): Promise<AddVersionResult> {
    const { rows } = await this.query<{ version: number }>('docket_add_template_version', Q.ADD_VERSION, [v.tenant, v.id, v.description, v.defaultsJson, v.now]);
    if (rows[0]) return { ok: true, version: rows[0].version };
    const exists = (await this.query<StateRow>('docket_template_record', Q.GET_RECORD, [v.tenant, v.id])).rowCount === 1;
    return { ok: false, reason: exists ? 'retired' : 'not_found' };
  }

  async get(tenant: string, id: string): Promise<Template | undefined> {
    const { rows } = await this.query<TemplateRow>('docket_get_template', Q.GET_TEMPLATE, [tenant, id]);
    return rows[0] && toTemplate(rows[0]);
  }

  async getVersion(tenant: string, id: string, version: number): Promise<TemplateVersion | undefined> {
    const { rows } = await this.query<VersionRow>('docket_get_template_version', Q.GET_VERSION, [tenant, id, version]);
    return rows[0] && toVersion(rows[0]);
  }

  async listVersions(tenant: string, id: string): Promise<TemplateVersion[]> {
    return (await this.query<VersionRow>('docket_list_template_versions', Q.LIST_VERSIONS, [tenant, id])).rows.map(toVersion);
  }

  async list(tenant: string, limit: number, after?: string): Promise<TemplatePage> {
    const { rows } = await this.query<TemplateRow>('docket_list_templates', Q.LIST_TEMPLATES, [tenant, after ?? '', limit + 1]);
    const templates = rows.slice(0, limit).map(toTemplate);
    return { templates, nextCursor: rows.length > limit ? templates[templates.length - 1]!.id : null };
  }

  async retire(tenant: string, id: string, now: number): Promise<Template | undefined> {
    await this.query('docket_retire_template', Q.RETIRE, [tenant, id, now]);
    return this.get(tenant, id);
  }

  async markUsed(tenant: string, id: string, now: number): Promise<boolean> {
    return (await this.query('docket_mark_template_used', Q.MARK_USED, [tenant, id, now])).rowCount === 1;
  }

  async delete(tenant: string, id: string): Promise<DeleteTemplateResult> {
    return inTransaction(this.pool, async (client) => {
      const run = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => client.query<R>({ text, values, types: PG_TYPES });
      const t = (await run<StateRow>(Q.LOCK_RECORD, [tenant, id])).rows[0];
      if (!t) return { ok: false, reason: 'not_found' };
      if (t.used_at !== null && (t.retired_at === null || (await run(Q.HAS_JOBS, [id, tenant])).rowCount! > 0)) {
        return { ok: false, reason: 'in_use', retired: t.retired_at !== null };
      }
      await run(Q.DELETE_TEMPLATE, [tenant, id]);
      return { ok: true };
    });
  }

  /** A query on the store's pool; named ones are prepared once per connection. */
  private query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>({ name, text, values, types: PG_TYPES });
  }
}
