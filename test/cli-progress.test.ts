// When a long CLI command draws a progress bar (src/interfaces/cli/progress.ts): on a terminal
// only, never with DOCKET_NO_PROGRESS or -q, so piped and captured output gets no bar frames.
// test/cli-recovery.test.ts sees the bar through script(1) on a real terminal.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/interfaces/cli/logger.js';
import { CliError, configureOutput } from '../src/interfaces/cli/output.js';
import { progressBar } from '../src/interfaces/cli/progress.js';

afterEach(() => {
  vi.unstubAllEnvs();
  configureOutput({});
});

/** A stream that says it is a terminal (or not) and keeps what was written to it. */
function terminal(isTTY: boolean) {
  let written = '';
  const stream = Object.assign(new Writable({ write: (chunk, _enc, done) => ((written += String(chunk)), done()) }), { isTTY, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: stream as unknown as NodeJS.WriteStream, written: () => written };
}

function drive(stream: NodeJS.WriteStream) {
  const bar = progressBar('purging', 10, stream);
  bar.update(4);
  bar.setTotal(20);
  bar.update(20);
  bar.stop();
}

describe('progress bar', () => {
  it('draws on a terminal: what, done of total (the total grown while listing)', () => {
    vi.stubEnv('DOCKET_NO_PROGRESS', '');
    const t = terminal(true);
    drive(t.stream);
    expect(t.written()).toContain('purging [');
    expect(t.written()).toContain('20/20');
  });

  it('draws nothing when not a terminal, with DOCKET_NO_PROGRESS, or with -q', () => {
    vi.stubEnv('DOCKET_NO_PROGRESS', '');
    const piped = terminal(false);
    drive(piped.stream);
    vi.stubEnv('DOCKET_NO_PROGRESS', '1');
    const off = terminal(true);
    drive(off.stream);
    vi.stubEnv('DOCKET_NO_PROGRESS', '');
    configureOutput({ quiet: true });
    const quiet = terminal(true);
    drive(quiet.stream);
    expect([piped.written(), off.written(), quiet.written()]).toEqual(['', '', '']);
  });
});

describe('log format', () => {
  it('a DOCKET_LOG_FORMAT other than pretty or json is a usage error naming both', () => {
    vi.stubEnv('DOCKET_LOG_FORMAT', 'xml');
    expect(() => createLogger('info')).toThrow(new CliError('DOCKET_LOG_FORMAT=xml: give pretty or json', 2));
  });
});
