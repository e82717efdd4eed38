import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Concurrency } from './pools.js';
import type { Handler } from './worker.js';

export interface HandlersModule {
  handlers: Record<string, Handler>;
  queues?: string[];
  concurrency?: Concurrency;
}

/**
 * Loads a handlers module: an ES module exporting `handlers` (or a default export) mapping job
 * types to functions, and optionally `queues` and `concurrency`.
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
  return {
    handlers: handlers as Record<string, Handler>,
    ...(queues ? { queues: queues as string[] } : {}),
    ...(mod.concurrency !== undefined ? { concurrency: mod.concurrency as Concurrency } : {}),
  };
}
