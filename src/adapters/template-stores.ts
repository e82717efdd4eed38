import type { Store } from '../ports/store.js';
import type { TemplateStore } from '../ports/template-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { PostgresTemplateStore } from './postgres/postgres-template-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { SqliteTemplateStore } from './sqlite/sqlite-template-store.js';

/**
 * The template store that lives beside a job store, in the same database (its tables come with
 * that store's migrations). Undefined for a store of another kind: templates are then off, and a
 * submit naming one is refused.
 */
export function templateStoreFor(store: Store): TemplateStore | undefined {
  if (store instanceof SqliteStore) return new SqliteTemplateStore(store);
  if (store instanceof PostgresStore) return new PostgresTemplateStore(store);
  return undefined;
}
