/**
 * How CLI commands print results and fail. Results go to stdout: a table on a terminal, JSON when
 * piped (the API's reply as it is, so `jq` filters work on both), or what `-o` asks for, as with
 * kubectl. Messages go to stderr, with exit codes.
 */
import { columnsOf, type Column } from './columns.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3, timedOut: 4 } as const;

/** An error the CLI reports as a message (no stack) with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export const FORMATS = ['table', 'json', 'wide', 'id'] as const;
export type Format = (typeof FORMATS)[number];

/** The `-o` and `-q` of the command being run (set once, before its action). */
const settings: { output?: Format; quiet: boolean } = { quiet: false };

/** Commander checks the value against FORMATS (connection.ts). */
export function configureOutput(o: { output?: Format; quiet?: boolean }): void {
  settings.output = o.output;
  settings.quiet = o.quiet === true;
}

/** -q: ids only, and no notes or progress on stderr. */
export function quiet(): boolean {
  return settings.quiet;
}

/** The format in effect: `-o`, else ids with -q, else a table on a terminal and JSON otherwise. */
export function format(): Format {
  return settings.output ?? (settings.quiet ? 'id' : process.stdout.isTTY ? 'table' : 'json');
}

/** A note for people on stderr (never on stdout, which stays the result); none with -q. */
export function note(text: string): void {
  if (!settings.quiet) process.stderr.write(`${text}\n`);
}

/**
 * Prints a command's result. A list is an object with one array (`{ jobs, nextCursor }`,
 * `{ queues }`: the API's shapes); `kind` names what a single object is (`jobs`, `queues`...) so
 * it gets that kind's columns.
 */
export function show(value: unknown, kind?: string): void {
  const list = listOf(value);
  const items = list ? list.items : [value];
  const which = list?.kind ?? kind ?? '';
  switch (format()) {
    case 'json':
      return write(JSON.stringify(value, null, 2));
    case 'id':
      return write(items.flatMap(idsOf).join('\n'));
    case 'table':
    case 'wide': {
      const wide = format() === 'wide';
      if (!list && (typeof value !== 'object' || value === null)) return write(String(value));
      if (!list && !kind) return write(fields(value as Record<string, unknown>));
      const rows = items as Record<string, unknown>[];
      if (rows.length === 0) return note(`no ${which || 'items'}`);
      write(table(columnsOf(which, rows, wide), rows));
      if (list?.nextCursor) note(`more: --cursor ${list.nextCursor}`);
    }
  }
}

/**
 * Prints one version of an object after another (`get --watch`), as `kubectl get -w`: table rows
 * under one header, or one JSON document per line.
 */
export function streamer(kind: string): (value: Record<string, unknown>) => void {
  let first = true;
  return (value) => {
    const f = format();
    if (f === 'json') write(JSON.stringify(value));
    else if (f === 'id') write(first ? idsOf(value).join('\n') : '');
    else {
      const lines = table(columnsOf(kind, [value], f === 'wide'), [value]).split('\n');
      write((first ? lines : lines.slice(1)).join('\n'));
    }
    first = false;
  };
}

/** Prints JSON whatever -o says: for output that is data by nature (a preview, a fire log). */
export function printJson(value: unknown): void {
  write(JSON.stringify(value, null, 2));
}

function write(text: string): void {
  if (text !== '') process.stdout.write(`${text}\n`);
}

/** `{ <kind>: [...], nextCursor? }`: the one shape of every list the CLI prints. */
function listOf(value: unknown): { kind: string; items: unknown[]; nextCursor?: string | null } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value);
  const arrays = entries.filter(([, v]) => Array.isArray(v));
  if (arrays.length !== 1 || entries.some(([k, v]) => !Array.isArray(v) && k !== 'nextCursor')) return null;
  const [kind, items] = arrays[0] as [string, unknown[]];
  return { kind, items, nextCursor: (value as { nextCursor?: string | null }).nextCursor ?? null };
}

/** What `-o id` prints of an item: its id (or key, or name), or the ids it carries. */
function idsOf(item: unknown): string[] {
  if (typeof item === 'string') return [item];
  if (typeof item !== 'object' || item === null) return [];
  const o = item as Record<string, unknown>;
  for (const k of ['id', 'key', 'name', 'token']) if (typeof o[k] === 'string') return [o[k] as string];
  return Array.isArray(o.ids) ? o.ids.map(String) : [];
}

/** Aligned columns, kubectl style: upper-case headers, two spaces apart. */
export function table(columns: Column[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (cs: string[]) => cs.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** One object as `field: value` lines, empty fields left out. */
function fields(o: Record<string, unknown>): string {
  const shown = Object.entries(o).filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0));
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n');
}

/** fetch() rejects with a TypeError whose cause is the socket's error when no server answers. */
export function unreachable(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}

export function defaultUrl(): string {
  return process.env.DOCKET_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
}

/** Parses a whole-number option, or fails naming the flag. */
export function intOption(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag} ${raw}: must be a whole number from ${min} to ${max}`, EXIT.usage);
    return n;
  };
}
