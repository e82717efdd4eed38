import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';

/**
 * The Lua scripts of the Redis dispatch, one per atomic transition. Each is registered with
 * ioredis `defineCommand`, which sends EVALSHA and falls back to EVAL once per connection (and
 * after a Redis restart flushed the script cache), so the source crosses the wire rarely.
 */
const FILES = {
  docketEnqueue: { file: 'enqueue.lua', numberOfKeys: 2 },
  docketSchedule: { file: 'schedule.lua', numberOfKeys: 2 },
  docketRemove: { file: 'remove.lua', numberOfKeys: 2 },
  docketTakeDue: { file: 'take-due.lua', numberOfKeys: 2 },
  docketTake: { file: 'take.lua', numberOfKeys: 1 },
  docketRunning: { file: 'running.lua', numberOfKeys: 0 },
  docketPlaces: { file: 'places.lua', numberOfKeys: 2 },
} as const;

type Name = keyof typeof FILES;
type Arg = string | number;

/** The script commands as `defineCommand` adds them to a client and its pipelines. */
export type ScriptCommands<R> = { [N in Name]: (...args: Arg[]) => R };
export type ScriptClient = Redis & ScriptCommands<Promise<unknown>>;
export interface ScriptPipeline extends ChainableCommander, ScriptCommands<ScriptPipeline> {}

let sources: Record<Name, string> | undefined;

/**
 * Reads the scripts once per process, next to this module (src under vitest, dist when built).
 * lib.lua (shared helpers) is prepended to each, since a Lua script cannot include another.
 */
function load(): Record<Name, string> {
  if (!sources) {
    const read = (file: string) => readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    const lib = read('lib.lua');
    sources = Object.fromEntries(Object.entries(FILES).map(([name, def]) => [name, `${lib}\n${read(def.file)}`])) as Record<Name, string>;
  }
  return sources;
}

/** Defines the dispatch commands on `redis` (idempotent: redefining replaces the same script). */
export function registerScripts(redis: Redis): ScriptClient {
  const lua = load();
  for (const name of Object.keys(FILES) as Name[]) {
    const numberOfKeys: number = FILES[name].numberOfKeys;
    redis.defineCommand(name, { lua: lua[name], numberOfKeys });
  }
  return redis as ScriptClient;
}
