import { Option, type Command } from 'commander';
import type { ClientOptions } from '../../../sdk/client.js';
import { DocketClient } from '../../../sdk/client.js';
import { defaultUrl, FORMATS } from '../output.js';

export interface ConnectionOptions {
  url: string;
  token?: string;
  tenant?: string;
}

/** --url, --token, --tenant, -o and -q, shared by every command that talks to a server. */
export function withConnection(command: Command): Command {
  return withOutput(command)
    .option('--url <url>', 'server URL (env DOCKET_URL)', defaultUrl())
    .option('--token <jwt>', 'API token (env DOCKET_TOKEN; mint one with `docket token`)')
    .option('--tenant <tenant>', 'admins: act for this tenant');
}

/** -o and -q (output.ts reads them before the command runs). */
export function withOutput(command: Command): Command {
  return command
    .addOption(new Option('-o, --output <format>', 'table (on a terminal), json (when piped), wide, or id (one per line)').choices(FORMATS))
    .option('-q, --quiet', 'print only ids, and no notes or progress on stderr');
}

export function clientOptions(o: ConnectionOptions): ClientOptions {
  const token = o.token ?? process.env.DOCKET_TOKEN;
  return { baseUrl: o.url, ...(token ? { token } : {}), ...(o.tenant ? { tenant: o.tenant } : {}) };
}

export function clientOf(o: ConnectionOptions): DocketClient {
  return new DocketClient(clientOptions(o));
}
