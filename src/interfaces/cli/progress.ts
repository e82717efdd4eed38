import { Presets, SingleBar } from 'cli-progress';
import { quiet } from './output.js';

/** What long commands report their progress to. */
export interface Progress {
  update(done: number): void;
  /** More work found than first thought (a total grown while listing). */
  setTotal(total: number): void;
  stop(): void;
}

const NONE: Progress = { update() {}, setTotal() {}, stop() {} };

/**
 * A progress bar on stderr when stderr is a terminal, else nothing: piped or captured output (scripts,
 * tests) never gets bar frames, and stdout stays the command's JSON. None with -q.
 */
export function progressBar(what: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.DOCKET_NO_PROGRESS || quiet()) return NONE;
  const bar = new SingleBar({ format: `${what} [{bar}] {value}/{total} | {eta}s left`, stream, hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    setTotal: (t) => bar.setTotal(t),
    stop: () => bar.stop(),
  };
}
