import type { AlertStore } from '../ports/alert-store.js';
import type { Store } from '../ports/store.js';
import { PostgresAlertStore } from './postgres/postgres-alert-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteAlertStore } from './sqlite/sqlite-alert-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * The alert store beside a job store, in the same database (its tables come with that store's
 * migrations), so an alert and its event commit together. Undefined for a store of another kind:
 * alerts are then off.
 */
export function alertStoreFor(store: Store): AlertStore | undefined {
  if (store instanceof SqliteStore) return new SqliteAlertStore(store.db);
  if (store instanceof PostgresStore) return new PostgresAlertStore(store.pool);
  return undefined;
}
