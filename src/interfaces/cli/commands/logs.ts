import { Command, Option } from 'commander';
import { LOG_LEVEL_NAMES, type LogLevelName } from '../../../domain/job-log.js';
import type { LogLineInfo } from '../../../sdk/log-stream.js';
import { intOption } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

interface LogsOptions extends ConnectionOptions {
  follow?: boolean;
  attempt?: number;
  level?: LogLevelName;
  json?: boolean;
}

/** `docket logs <id> [--follow]`: a job's handler log (docs/logs.md). */
export function logsCommand(): Command {
  return withConnection(new Command('logs'))
    .description("print a job's log: the lines its handler wrote through ctx.log")
    .argument('<id>', 'job id')
    .option('-f, --follow', 'keep printing lines as they are written, until the job has finished')
    .option('--attempt <n>', "only this attempt's lines", intOption('--attempt', 1, 2_147_483_647))
    .addOption(new Option('--level <level>', 'only lines at this level or above').choices(LOG_LEVEL_NAMES))
    .option('--json', 'one JSON object per line (id, attempt, at, level, message, fields)')
    .action(async (id: string, o: LogsOptions) => {
      const client = clientOf(o);
      const filter = { ...(o.attempt !== undefined ? { attempt: o.attempt } : {}), ...(o.level ? { level: o.level } : {}) };
      const print = (line: LogLineInfo) => process.stdout.write(`${o.json ? JSON.stringify(line) : textOf(line)}\n`);
      if (o.follow) {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        for await (const line of client.followLogs(id, { ...filter, signal: stop.signal })) print(line);
        return;
      }
      let cursor: string | undefined;
      do {
        const page = await client.logs(id, { ...filter, limit: 1000, ...(cursor ? { cursor } : {}) });
        page.lines.forEach(print);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    });
}

/** `2026-12-07T06:00:00.000Z INFO  #1 paid {"orderId":7}` */
function textOf(l: LogLineInfo): string {
  const fields = l.fields && Object.keys(l.fields).length > 0 ? ` ${JSON.stringify(l.fields)}` : '';
  return `${l.at} ${l.level.toUpperCase().padEnd(5)} ${l.attempt > 0 ? `#${l.attempt}` : '  '} ${l.message}${fields}`;
}
