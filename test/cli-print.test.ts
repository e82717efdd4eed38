// How the CLI prints results (src/interfaces/cli/output.ts, columns.ts), in-process: what lands on
// stdout and stderr for each -o format and each shape of result. test/cli-output.test.ts runs the
// same through bin/docket against a server for the common cases; the rarer shapes are cheaper here.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { age, columnsOf } from '../src/interfaces/cli/columns.js';
import { CliError, configureOutput, defaultUrl, format, intOption, note, printJson, show, streamer, table, unreachable } from '../src/interfaces/cli/output.js';

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  configureOutput({});
});

const job = { id: 'j1', type: 'echo', queue: 'q', state: 'failed', priority: 5, attempt: 2, maxAttempts: 3, createdAt: new Date(Date.now() - 90_000).toISOString(), linkId: null, workerId: 'w1', errors: [{ message: 'first' }, { message: 'boom\n  at line 2' }] };
const rows = (text: string) => text.trim().split('\n').map((l) => l.split(/\s{2,}/));

describe('show', () => {
  it('-o json prints the value as the API gave it', () => {
    configureOutput({ output: 'json' });
    show({ jobs: [job], nextCursor: 'c1' });
    expect(JSON.parse(out)).toEqual({ jobs: [job], nextCursor: 'c1' });
    expect(err).toBe('');
  });

  it('-o id and -q print the id, key, name or token of each item, or the ids it carries', () => {
    configureOutput({ quiet: true });
    expect(format()).toBe('id');
    show({ conditions: [{ key: 'k1' }, { name: 'n1' }, { token: 't1' }, { ids: [1, 2] }, 'plain', 7, null, { other: 1 }] });
    expect(out).toBe('k1\nn1\nt1\n1\n2\nplain\n');
    out = '';
    show({ requeued: 0, ids: [] });
    expect(out).toBe(''); // nothing at all, not an empty line
  });

  it('-o table prints the kind\'s columns, and notes on stderr when a list is empty or has more pages', () => {
    configureOutput({ output: 'table' });
    show({ jobs: [job], nextCursor: 'c2' });
    expect(rows(out)).toEqual([
      ['ID', 'TYPE', 'QUEUE', 'STATE', 'PRIORITY', 'ATTEMPT', 'AGE'],
      ['j1', 'echo', 'q', 'failed', '5', '2/3', '90s'],
    ]);
    expect(err).toBe('more: --cursor c2\n');
    out = err = '';
    show({ webhooks: [] });
    expect(out).toBe('');
    expect(err).toBe('no webhooks\n');
  });

  it('-q keeps notes off stderr', () => {
    configureOutput({ output: 'table', quiet: true });
    show({ jobs: [] });
    note('a note');
    expect(err).toBe('');
  });

  it('-o wide adds the wide columns, with the last error on one line', () => {
    configureOutput({ output: 'wide' });
    show(job, 'jobs');
    const [header, row] = rows(out);
    expect(header).toEqual(['ID', 'TYPE', 'QUEUE', 'STATE', 'PRIORITY', 'ATTEMPT', 'AGE', 'TENANT', 'LINK', 'WORKER', 'REASON', 'ERROR']);
    expect(row).toEqual(['j1', 'echo', 'q', 'failed', '5', '2/3', '90s', '-', '-', 'w1', '-', 'boom at line 2']);
  });

  it('a table of a single object without a kind is its fields, empty ones left out; a scalar is itself', () => {
    configureOutput({ output: 'table' });
    show({ id: 'x1', deleted: true, note: null, tags: [], nested: { a: 1 } });
    expect(out).toBe('id:       x1\ndeleted:  true\nnested:   {"a":1}\n');
    out = '';
    show('just text');
    show(null);
    expect(out).toBe('just text\nnull\n');
  });

  it('an object with two arrays, or an array with other fields, is a single object, not a list', () => {
    configureOutput({ output: 'table' });
    show({ requeued: 2, ids: ['a', 'b'] });
    expect(out).toBe('requeued:  2\nids:       ["a","b"]\n');
    out = '';
    show({ a: [1], b: [2] });
    expect(out).toBe('a:  [1]\nb:  [2]\n');
    out = '';
    configureOutput({ output: 'id' });
    show([{ id: 'in-array' }]);
    expect(out).toBe(''); // a bare array is no list shape of the API: no ids in it
  });

  it('prints JSON when piped and a table on a terminal when no -o is given', () => {
    configureOutput({});
    const tty = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    try {
      Object.defineProperty(process.stdout, 'isTTY', { value: false, configurable: true });
      expect(format()).toBe('json');
      Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
      expect(format()).toBe('table');
    } finally {
      if (tty) Object.defineProperty(process.stdout, 'isTTY', tty);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
  });

  it('printJson prints JSON whatever -o says', () => {
    configureOutput({ output: 'table' });
    printJson({ fires: [1] });
    expect(JSON.parse(out)).toEqual({ fires: [1] });
  });
});

describe('streamer (get --watch)', () => {
  it('prints one JSON document a line', () => {
    configureOutput({ output: 'json' });
    const print = streamer('jobs');
    print({ id: 'j1', state: 'ready' });
    print({ id: 'j1', state: 'running' });
    expect(out.trim().split('\n').map((l) => JSON.parse(l).state)).toEqual(['ready', 'running']);
  });

  it('prints the id once with -o id', () => {
    configureOutput({ output: 'id' });
    const print = streamer('jobs');
    print({ id: 'j1' });
    print({ id: 'j1' });
    expect(out).toBe('j1\n');
  });

  it('prints table rows under one header, wide with -o wide', () => {
    configureOutput({ output: 'wide' });
    const print = streamer('jobs');
    print({ ...job, state: 'running' });
    print(job);
    const lines = rows(out);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain('WORKER');
    expect(lines.slice(1).map((l) => l[3])).toEqual(['running', 'failed']);
  });
});

describe('columns', () => {
  const cells = (kind: string, row: Record<string, unknown>, wide = false) => Object.fromEntries(columnsOf(kind, [row], wide).map((c) => [c.header, c.cell(row)]));

  it('each kind has its columns, and wide adds more', () => {
    const narrowAndWide = (kind: string) => [columnsOf(kind, [], false).map((c) => c.header), columnsOf(kind, [], true).map((c) => c.header)];
    expect(narrowAndWide('queues')[0]).toEqual(['NAME', 'PAUSED', 'READY', 'RUNNING', 'SCHEDULED', 'RETRYING', 'FAILED']);
    expect(narrowAndWide('queues')[1]!.slice(7)).toEqual(['WAITING', 'BLOCKED', 'SUCCEEDED', 'CANCELLED', 'EXPIRED']);
    for (const kind of ['jobs', 'queues', 'workers', 'conditions', 'schedules', 'templates', 'webhooks', 'deliveries', 'alerts']) {
      const [narrow, wide] = narrowAndWide(kind);
      expect(wide!.slice(0, narrow!.length), kind).toEqual(narrow);
      expect(wide!.length, kind).toBeGreaterThan(narrow!.length);
    }
  });

  it('cells: counts default to 0, lists join with commas, objects as k=v, empties as -', () => {
    expect(cells('queues', { name: 'q', paused: false, counts: { ready: 4 } })).toMatchObject({ NAME: 'q', PAUSED: 'false', READY: '4', RUNNING: '0' });
    expect(cells('queues', { name: 'q' }).READY).toBe('0');
    expect(cells('workers', { id: 'w', queues: ['a', 'b'], labels: { zone: 'eu', gpu: true }, name: '' }, true)).toMatchObject({ QUEUES: 'a,b', LABELS: 'zone=eu,gpu=true', NAME: '-', HEARTBEAT: '-' });
    expect(cells('workers', { queues: [], labels: {} }, true)).toMatchObject({ QUEUES: '-', LABELS: '-' });
    expect(cells('schedules', { job: { type: 'report' } }, true).TYPE).toBe('report');
    expect(cells('schedules', {}, true).TYPE).toBe('-');
    expect(cells('jobs', { errors: [] }, true).ERROR).toBe('-');
  });

  it('a kind it does not know shows the plain fields, first six unless wide, headers spelled out', () => {
    const row = { createdAt: 'x', aB: 1, c: null, d: true, e: 'e', f: 'f', g: 'g', nested: { x: 1 } };
    expect(columnsOf('other', [row], false).map((c) => c.header)).toEqual(['CREATED AT', 'A B', 'C', 'D', 'E', 'F']);
    expect(columnsOf('other', [row], true).map((c) => c.header)).toEqual(['CREATED AT', 'A B', 'C', 'D', 'E', 'F', 'G']);
    const t = table(columnsOf('other', [row], false), [row]);
    expect(rows(t)[1]).toEqual(['x', '1', '-', 'true', 'e', 'f']);
  });

  it('age reads like kubectl\'s: seconds, minutes, hours, days, and in the future', () => {
    const now = Date.parse('2026-01-10T00:00:00Z');
    const ago = (s: number) => age(new Date(now - s * 1000).toISOString(), now);
    expect([ago(5), ago(119), ago(120), ago(7199), ago(7200), ago(172_799), ago(172_800), ago(-30)]).toEqual(['5s', '119s', '2m', '119m', '2h', '47h', '2d', 'in 30s']);
    expect(age(undefined, now)).toBe('-');
    expect(age('not a time', now)).toBe('-');
  });
});

describe('CLI helpers', () => {
  it('intOption takes whole numbers in range and names the flag otherwise (a usage error)', () => {
    const limit = intOption('--limit', 1, 500);
    expect(limit('50')).toBe(50);
    for (const bad of ['0', '501', '2.5', 'ten']) {
      const e = (() => {
        try {
          limit(bad);
        } catch (x) {
          return x;
        }
      })();
      expect(e).toBeInstanceOf(CliError);
      expect(e).toMatchObject({ message: `--limit ${bad}: must be a whole number from 1 to 500`, exitCode: 2 });
    }
  });

  it('the server URL: DOCKET_URL, else PORT on localhost, else 8080', () => {
    vi.stubEnv('DOCKET_URL', 'http://elsewhere:1');
    expect(defaultUrl()).toBe('http://elsewhere:1');
    vi.stubEnv('DOCKET_URL', undefined);
    vi.stubEnv('PORT', '9999');
    expect(defaultUrl()).toBe('http://127.0.0.1:9999');
    vi.stubEnv('PORT', undefined);
    expect(defaultUrl()).toBe('http://127.0.0.1:8080');
  });

  it('unreachable: only fetch\'s own failure', () => {
    expect(unreachable(new TypeError('fetch failed'))).toBe(true);
    expect(unreachable(new TypeError('other'))).toBe(false);
    expect(unreachable(new Error('fetch failed'))).toBe(false);
  });
});
