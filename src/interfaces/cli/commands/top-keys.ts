/**
 * The keys of `docket top`, as in htop: `s` sorts the queues by the next column (name, ready,
 * running, failed, done/s; `r` reverses), `/` starts a filter on queue names (Enter keeps it, Esc
 * clears it), `q` quits.
 */
export interface QueueRow {
  name: string;
  counts: Record<string, number>;
  rate: number | null;
}

const SORTS: [label: string, key: (q: QueueRow) => number | string][] = [
  ['name', (q) => q.name],
  ['ready', (q) => -(q.counts.ready ?? 0)],
  ['running', (q) => -(q.counts.running ?? 0)],
  ['failed', (q) => -(q.counts.failed ?? 0)],
  ['done/s', (q) => -(q.rate ?? 0)],
];

export function keyHelp(): string {
  return 's sort, r reverse, / filter, q quit';
}

export class View {
  private sort = 0;
  private reversed = false;
  private filter = '';
  /** Typing a filter: the text so far; null when not typing. */
  private typing: string | null = null;

  constructor(
    private readonly redraw: () => void,
    private readonly quit: () => void,
  ) {}

  /** The line under the title: the sort, the filter, the keys. */
  status(): string {
    if (this.typing !== null) return `filter: ${this.typing}_  (Enter to apply, Esc to clear)`;
    const filter = this.filter ? `  filter "${this.filter}"` : '';
    return `sort ${SORTS[this.sort]![0]}${this.reversed ? ' (reversed)' : ''}${filter}  [${keyHelp()}]`;
  }

  apply<T extends QueueRow>(rows: T[]): T[] {
    const [, key] = SORTS[this.sort]!;
    const shown = rows.filter((r) => r.name.includes(this.filter));
    shown.sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const order = x < y ? -1 : x > y ? 1 : a.name.localeCompare(b.name);
      return this.reversed ? -order : order;
    });
    return shown;
  }

  /** One key press (as the terminal sends it). */
  press(key: string): void {
    if (this.typing !== null) {
      if (key === '\r' || key === '\n') [this.filter, this.typing] = [this.typing, null];
      else if (key === '\x1b') [this.filter, this.typing] = ['', null];
      else if (key === '\x7f' || key === '\b') this.typing = this.typing.slice(0, -1);
      else if (key >= ' ') this.typing += key;
    } else if (key === 'q' || key === '\x03') return this.quit();
    else if (key === 's') this.sort = (this.sort + 1) % SORTS.length;
    else if (key === 'r') this.reversed = !this.reversed;
    else if (key === '/') this.typing = '';
    else if (key === '\x1b') this.filter = '';
    else return;
    this.redraw();
  }

  /** Reads keys from a terminal in raw mode; returns what undoes it. Nothing when not a terminal. */
  listen(input: NodeJS.ReadStream): () => void {
    if (!input.isTTY) return () => {};
    input.setRawMode(true);
    input.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const key of chunk.startsWith('\x1b[') ? [] : [...chunk]) this.press(key);
    };
    input.on('data', onData);
    input.resume();
    return () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
    };
  }
}
