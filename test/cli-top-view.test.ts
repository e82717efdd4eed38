// What `docket top` draws and how its keys change it (src/interfaces/cli/commands/top.ts render,
// top-keys.ts View), in-process: a frame is text, a key press is a string. test/cli-top.test.ts
// runs the command itself against a server.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { render, type Snapshot } from '../src/interfaces/cli/commands/top.js';
import { View } from '../src/interfaces/cli/commands/top-keys.js';

const at = Date.parse('2026-01-10T12:00:00.500Z');
const queue = (name: string, counts: Record<string, number>, paused = false) => ({ name, paused, counts }) as unknown as Snapshot['queues'][number];

const now: Snapshot = {
  at,
  queues: [queue('emails', { ready: 3, running: 1, succeeded: 10 }), queue('reports', { ready: 7, failed: 2, succeeded: 4 }, true), queue('audio', { running: 5, succeeded: 1 })],
  workers: [
    { id: 'w-0123456789abcdef', name: 'mailer-1', status: 'active', queues: ['emails'], capacity: 4, lastHeartbeatAt: new Date(at - 2_500).toISOString() },
    { id: 'w-2', name: null, status: 'lost', queues: ['a', 'b'], capacity: 1, lastHeartbeatAt: new Date(at + 1_000).toISOString() },
  ] as unknown as Snapshot['workers'],
  running: new Map([['w-0123456789abcdef', 2]]),
  alerts: [{ rule: 'backlog', message: 'emails has 3 ready', firedAt: '2026-01-10T11:59:00.123Z' }] as unknown as Snapshot['alerts'],
};
const before: Snapshot = { ...now, at: at - 2_000, queues: [queue('emails', { succeeded: 4 }), queue('reports', { succeeded: 8, failed: 2 })] };

/** The queue names of a frame, in the order shown (the rows between the header and the blank line). */
const names = (frame: string) => frame.split('\n').slice(3, frame.split('\n').indexOf('', 2)).map((l) => l.split(/\s+/)[0]);

describe('docket top frame', () => {
  it('shows queues by state with done/s from the previous frame, workers and firing alerts', () => {
    const frame = render(now, before, 'http://h:1');
    const lines = frame.split('\n');
    expect(lines[0]).toBe('docket top  http://h:1  2026-01-10T12:00:00Z');
    expect(lines[1]).toBe('');
    expect(lines[2]!.split(/\s+/)).toEqual(['QUEUE', 'READY', 'RUNNING', 'SCHED', 'RETRY', 'BLOCKED', 'WAITING', 'SUCCEEDED', 'FAILED', 'DONE/S']);
    // emails: 6 more done in 2 s; reports: fewer done than before (a purge) counts as 0; audio: new, no rate yet.
    expect(lines[3]!.split(/\s+/)).toEqual(['emails', '3', '1', '0', '0', '0', '0', '10', '0', '3.0']);
    expect(lines[4]!.split(/\s{2,}/)).toEqual(['reports (paused)', '7', '0', '0', '0', '0', '0', '4', '2', '0.0']);
    expect(lines[5]!.split(/\s+/).at(-1)).toBe('-');
    expect(frame).toContain('WORKERS  1 active, 1 lost');
    const worker = lines.find((l) => l.startsWith('w-0123456789a '))!.split(/\s+/);
    expect(worker).toEqual(['w-0123456789a', 'mailer-1', 'active', 'emails', '2/4', '2.5s']);
    // No name: '-'; a heartbeat stamped ahead of this machine's clock: 0.0s, not negative.
    expect(lines.find((l) => l.startsWith('w-2'))!.split(/\s+/)).toEqual(['w-2', '-', 'lost', 'a,b', '0/1', '0.0s']);
    expect(lines.slice(-2)).toEqual(['ALERTS  1 firing', '  backlog  emails has 3 ready  (since 2026-01-10T11:59:00Z)']);
  });

  it('says so when there are no queues, the token may not list workers, or read alerts', () => {
    const frame = render({ at, queues: [], workers: null, running: new Map(), alerts: null }, null, 'u');
    expect(frame.split('\n').slice(3)).toEqual(['  (no queues yet)', '', 'WORKERS  (this token may not list workers)']);
    const noWorkers = render({ at, queues: [], workers: [], running: new Map(), alerts: [] }, null, 'u');
    expect(noWorkers.split('\n').slice(5)).toEqual(['WORKERS  0 active, 0 lost  (remote workers; in-process ones are not listed)', '', 'ALERTS  0 firing']);
  });
});

describe('docket top keys', () => {
  function viewed() {
    let redraws = 0;
    let quits = 0;
    const view = new View(() => redraws++, () => quits++);
    return { view, frame: () => render(now, before, 'u', view), redraws: () => redraws, quits: () => quits };
  }

  it('s sorts by the next column (most first), r reverses, and the status line says which', () => {
    const { view, frame, redraws } = viewed();
    expect(frame().split('\n')[1]).toBe('sort name  [s sort, r reverse, / filter, q quit]');
    expect(names(frame())).toEqual(['audio', 'emails', 'reports']);
    view.press('s');
    expect(frame().split('\n')[1]).toMatch(/^sort ready {2}/);
    expect(names(frame())).toEqual(['reports', 'emails', 'audio']);
    view.press('s');
    expect(names(frame())).toEqual(['audio', 'emails', 'reports']); // running: 5, 1, 0
    view.press('s');
    expect(names(frame())).toEqual(['reports', 'audio', 'emails']); // failed: 2, then ties by name
    view.press('s');
    expect(names(frame())).toEqual(['emails', 'audio', 'reports']); // done/s: 3.0, then no rate yet and 0.0 both as 0, by name
    view.press('r');
    expect(frame().split('\n')[1]).toMatch(/^sort done\/s \(reversed\)/);
    expect(names(frame())).toEqual(['reports', 'audio', 'emails']);
    view.press('s');
    expect(frame().split('\n')[1]).toMatch(/^sort name \(reversed\)/);
    expect(redraws()).toBe(6);
  });

  it('/ types a filter (backspace edits, Enter keeps it, Esc clears it); q and Ctrl-C quit', () => {
    const { view, frame, redraws, quits } = viewed();
    view.press('/');
    for (const k of 'rex') view.press(k);
    view.press('\x7f');
    view.press('\x01'); // a control key is not text
    expect(frame().split('\n')[1]).toBe('filter: re_  (Enter to apply, Esc to clear)');
    view.press('q'); // while typing, q is a letter
    view.press('\b');
    view.press('\r');
    expect(frame().split('\n')[1]).toBe('sort name  filter "re"  [s sort, r reverse, / filter, q quit]');
    expect(names(frame())).toEqual(['reports']);
    view.press('\x1b');
    expect(names(frame())).toHaveLength(3);
    view.press('/');
    view.press('e');
    view.press('\x1b'); // Esc while typing drops what was typed
    expect(frame().split('\n')[1]).toMatch(/^sort name {2}\[/);
    const drawn = redraws();
    view.press('x'); // not a key of top: no redraw
    expect(redraws()).toBe(drawn);
    view.press('q');
    view.press('\x03');
    expect(quits()).toBe(2);
  });

  it('reads keys from a terminal in raw mode and restores it; ignores escape sequences; nothing when not a terminal', () => {
    const { view, frame } = viewed();
    const input = Object.assign(new EventEmitter(), {
      isTTY: true,
      raw: [] as boolean[],
      setRawMode(on: boolean) {
        this.raw.push(on);
      },
      setEncoding() {},
      resume() {},
      pause() {},
    });
    const undo = view.listen(input as unknown as NodeJS.ReadStream);
    expect(input.raw).toEqual([true]);
    input.emit('data', 'sr');
    input.emit('data', '\x1b[A'); // an arrow key
    expect(frame().split('\n')[1]).toMatch(/^sort ready \(reversed\)/);
    undo();
    expect(input.raw).toEqual([true, false]);
    input.emit('data', 's');
    expect(frame().split('\n')[1]).toMatch(/^sort ready \(reversed\)/);
    const notTty = Object.assign(new EventEmitter(), { isTTY: false });
    view.listen(notTty as unknown as NodeJS.ReadStream)();
    expect(notTty.listenerCount('data')).toBe(0);
  });
});
