import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClaimFilter } from '../ports/dispatch.js';
import type { Concurrency } from './pools.js';
import type { Handler } from './worker.js';

export interface HandlersModule {
  handlers: Record<string, Handler>;
  queues?: string[];
  concurrency?: Concurrency;
  /** Claim only jobs of these types and/or with these labels (`export const filter = { types: ['resize'], labels: { region: 'eu' } }`). */
  filter?: ClaimFilter;
}

/**
 * Loads a handlers module: an ES module exporting `handlers` (or a default export) mapping job
 * types to functions, and optionally `queues`, `concurrency` and `filter`.
 */
export async function loadHandlers(path: string): Promise<HandlersModule> {
  const url = pathToFileURL(resolve(path)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url);
  } catch (err) {
    throw new Error(`handlers module ${path}: could not be loaded: ${(err as Error).message}`);
  }
  const handlers = (mod.handlers ?? mod.default) as Record<string, unknown> | undefined;
  if (!handlers || typeof handlers !== 'object') {
    throw new Error(`handlers module ${path}: export \`handlers\` (or a default export): an object mapping job types to functions`);
  }
  for (const [type, fn] of Object.entries(handlers)) {
    if (typeof fn !== 'function') throw new Error(`handlers module ${path}: handlers["${type}"] is ${typeof fn}, not a function`);
  }
  const queues = mod.queues;
  if (queues !== undefined && (!Array.isArray(queues) || !queues.every((q) => typeof q === 'string'))) {
    throw new Error(`handlers module ${path}: \`queues\` must be an array of queue names`);
  }
  const filter = filterOf(mod.filter, path);
  return {
    handlers: handlers as Record<string, Handler>,
    ...(filter ? { filter } : {}),
    ...(queues ? { queues: queues as string[] } : {}),
    ...(mod.concurrency !== undefined ? { concurrency: mod.concurrency as Concurrency } : {}),
  };
}

/** The module's `filter` export, checked: `{ types?: string[], labels?: { [key]: string } }`. */
function filterOf(raw: unknown, path: string): ClaimFilter | undefined {
  if (raw === undefined) return undefined;
  const bad = (why: string) => new Error(`handlers module ${path}: \`filter\` ${why} (e.g. { types: ['resize'], labels: { region: 'eu' } })`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be an object');
  const { types, labels, ...rest } = raw as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw bad(`has unknown fields: ${Object.keys(rest).join(', ')}`);
  if (types !== undefined && (!Array.isArray(types) || types.length === 0 || !types.every((t) => typeof t === 'string' && t.length > 0))) throw bad('types must be a non-empty array of job types');
  if (labels !== undefined && (typeof labels !== 'object' || labels === null || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string'))) {
    throw bad('labels must map label keys to string values');
  }
  return { ...(types ? { types: types as string[] } : {}), ...(labels ? { labels: labels as Record<string, string> } : {}) };
}
