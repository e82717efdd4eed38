import { Command } from 'commander';
import { intOption, show } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

/** `docket alerts [--state firing|resolved]`: GET /v1/alerts as JSON (docs/alerts.md). */
export function alertsCommand(): Command {
  return withConnection(new Command('alerts'))
    .description('alerts, newest first (admins and viewers); --state firing for those firing now')
    .option('--state <state>', 'firing or resolved')
    .option('--limit <n>', 'at most this many (1-1000)', intOption('--limit', 1, 1000), 100)
    .action(async (o: ConnectionOptions & { state?: string; limit: number }) => {
      const query = new URLSearchParams({ limit: String(o.limit), ...(o.state ? { state: o.state } : {}) });
      show(await clientOf(o).request('GET', `/v1/alerts?${query}`));
    });
}
