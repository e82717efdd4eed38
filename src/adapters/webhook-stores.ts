import type { Store } from '../ports/store.js';
import type { WebhookStore } from '../ports/webhook-store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { PostgresWebhookStore } from './postgres/postgres-webhook-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { SqliteWebhookStore } from './sqlite/sqlite-webhook-store.js';

/**
 * The webhook store that lives beside a job store, in the same database (its tables come with that
 * store's migrations), so delivery rows commit with the dispatcher's event cursor. Undefined for a
 * store of another kind: webhooks are then off.
 */
export function webhookStoreFor(store: Store): WebhookStore | undefined {
  if (store instanceof SqliteStore) return new SqliteWebhookStore(store.db);
  if (store instanceof PostgresStore) return new PostgresWebhookStore(store.pool);
  return undefined;
}
