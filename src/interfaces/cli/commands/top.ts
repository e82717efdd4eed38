import { Command } from 'commander';
import type { DocketClient, QueueInfo, WorkerInfoView } from '../../../sdk/client.js';
import type { AlertView } from '../../../domain/alerts.js';
import { intOption, printJson } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';
import { View, keyHelp } from './top-keys.js';

interface TopOptions extends ConnectionOptions {
  once?: boolean;
  interval: number;
}

/** One look at the cluster: what a frame shows. */
export interface Snapshot {
  at: number;
  queues: QueueInfo[];
  /** null: the token may not list workers. */
  workers: WorkerInfoView[] | null;
  /** Running jobs per worker id (of the first 500 running jobs). */
  running: Map<string, number>;
  /** null: the token may not read alerts. */
  alerts: AlertView[] | null;
}

const COLUMNS = [
  ['READY', 'ready'],
  ['RUNNING', 'running'],
  ['SCHED', 'scheduled'],
  ['RETRY', 'retrying'],
  ['BLOCKED', 'blocked'],
  ['WAITING', 'waiting'],
  ['SUCCEEDED', 'succeeded'],
  ['FAILED', 'failed'],
] as const;

/**
 * `docket top`: a live view of queues (depth by state, jobs done per second) and workers
 * (heartbeat age, running jobs), redrawn every second in the terminal's alternate screen, line by
 * line over the previous frame (no clearing, so no flicker); keys sort and filter (top-keys.ts).
 * `--once` prints one frame without escape codes (what scripts and tests read); with `-o json`,
 * the snapshot as JSON. Ctrl-C or q restores the terminal and exits 0.
 */
export function topCommand(): Command {
  return withConnection(new Command('top'))
    .description(`live view of queues and workers; keys: ${keyHelp()}; --once prints one frame`)
    .option('--once', 'print one frame and exit')
    .option('--interval <ms>', 'refresh period', intOption('--interval', 200, 60_000), 1000)
    .action(async (o: TopOptions) => {
      const client = clientOf(o);
      if (o.once) {
        const now = await snapshot(client);
        if ((o as { output?: string }).output === 'json') return printJson({ ...now, at: new Date(now.at).toISOString(), running: Object.fromEntries(now.running) });
        process.stdout.write(`${render(now, null, o.url)}\n`);
        return;
      }
      await live(client, o);
    });
}

async function live(client: DocketClient, o: TopOptions): Promise<void> {
  const tty = process.stdout.isTTY === true;
  let previous: Snapshot | null = null;
  let now: Snapshot | null = null;
  let stopped = false;
  let wake: () => void = () => {};
  const stop = () => {
    stopped = true;
    wake();
  };
  const draw = () => {
    if (!now) return;
    const frame = render(now, previous, o.url, view);
    // Home, then each line over the old one with the rest of it erased, then erase below: one
    // write and no clear, so the terminal never shows a blank or half a frame.
    process.stdout.write(tty ? `\x1b[H${frame.split('\n').map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J` : `${frame}\n\n`);
  };
  const view = new View(draw, stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (tty) process.stdout.write('\x1b[?1049h\x1b[?25l'); // alternate screen, hide the cursor
  const keys = view.listen(process.stdin);
  try {
    while (!stopped) {
      const next = await snapshot(client);
      if (now) previous = now;
      now = next;
      draw();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    keys();
    if (tty) process.stdout.write('\x1b[?25h\x1b[?1049l'); // show the cursor, leave the alternate screen
  }
}

export async function snapshot(client: DocketClient): Promise<Snapshot> {
  const optional = <T>(p: Promise<T>): Promise<T | null> => p.catch((err: { status?: number }) => (err.status === 403 ? null : Promise.reject(err)));
  const [queues, workers, running, alerts] = await Promise.all([
    client.queues(),
    optional(client.workers()),
    optional(client.request<{ jobs: { workerId: string | null }[] }>('GET', '/v1/jobs?state=running&limit=500')),
    // An older server has no /v1/alerts (404): no alerts section then.
    client.request<{ alerts: AlertView[] }>('GET', '/v1/alerts?state=firing').catch(() => null),
  ]);
  const perWorker = new Map<string, number>();
  for (const j of running?.jobs ?? []) if (j.workerId) perWorker.set(j.workerId, (perWorker.get(j.workerId) ?? 0) + 1);
  return { at: Date.now(), queues, workers, running: perWorker, alerts: alerts?.alerts ?? null };
}

/**
 * A frame as text (no escape codes). `previous` gives the rates; without it they show as `-`.
 * `view` sorts and filters the queues (top-keys.ts).
 */
export function render(now: Snapshot, previous: Snapshot | null, url: string, view?: View): string {
  const lines: string[] = [];
  lines.push(`docket top  ${url}  ${new Date(now.at).toISOString().replace(/\.\d+Z$/, 'Z')}`);
  lines.push(view ? view.status() : '');
  const count = (q: QueueInfo, state: string) => (q.counts as Record<string, number>)[state] ?? 0;
  const done = (q: QueueInfo) => count(q, 'succeeded') + count(q, 'failed');
  const seconds = previous ? (now.at - previous.at) / 1000 : 0;
  const rated = now.queues.map((q) => {
    const before = previous?.queues.find((p) => p.name === q.name);
    const rate = before && seconds > 0 ? Math.max(0, done(q) - done(before)) / seconds : null;
    return { name: q.name, counts: q.counts as Record<string, number>, rate, cells: [q.name + (q.paused ? ' (paused)' : ''), ...COLUMNS.map(([, state]) => String(count(q, state))), rate === null ? '-' : rate.toFixed(1)] };
  });
  const rows = (view ? view.apply(rated) : rated).map((q) => q.cells);
  lines.push(...table(['QUEUE', ...COLUMNS.map(([h]) => h), 'DONE/S'], rows, rows.length === 0 ? '(no queues yet)' : null));
  lines.push('');
  if (now.workers === null) {
    lines.push('WORKERS  (this token may not list workers)');
  } else {
    const active = now.workers.filter((w) => w.status === 'active').length;
    lines.push(`WORKERS  ${active} active, ${now.workers.length - active} lost  (remote workers; in-process ones are not listed)`);
    const wrows = now.workers.map((w) => [
      w.id.slice(0, 13),
      w.name ?? '-',
      w.status,
      w.queues.join(','),
      `${now.running.get(w.id) ?? 0}/${w.capacity}`,
      `${Math.max(0, Math.round((now.at - Date.parse(w.lastHeartbeatAt)) / 100) / 10).toFixed(1)}s`,
    ]);
    if (wrows.length > 0) lines.push(...table(['ID', 'NAME', 'STATUS', 'QUEUES', 'RUNNING', 'HEARTBEAT'], wrows, null));
  }
  if (now.alerts !== null) {
    lines.push('');
    lines.push(`ALERTS  ${now.alerts.length} firing`);
    for (const a of now.alerts) lines.push(`  ${a.rule}  ${a.message}  (since ${a.firedAt.replace(/\.\d+Z$/, 'Z')})`);
  }
  return lines.join('\n');
}

/** Left-aligned first column, right-aligned numbers. */
function table(header: string[], rows: string[][], empty: string | null): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || Number.isNaN(Number(c.replace(/[/s]/g, ''))) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...(empty ? [`  ${empty}`] : rows.map(line))];
}
