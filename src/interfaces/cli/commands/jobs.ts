import { Command } from 'commander';
import { DocketClient } from '../../../sdk/client.js';
import { defaultUrl, intOption, printJson } from '../output.js';

const urlOption = ['--url <url>', 'server URL (env DOCKET_URL)'] as const;

export function getCommand(): Command {
  return new Command('get')
    .description('show one job')
    .argument('<id>', 'job id')
    .option(...urlOption, defaultUrl())
    .action(async (id: string, o: { url: string }) => printJson(await new DocketClient({ baseUrl: o.url }).get(id)));
}

export function listCommand(): Command {
  return new Command('list')
    .description('list jobs, newest first')
    .option('--queue <queue>', 'only this queue')
    .option('--state <state>', 'only this state (ready, running, succeeded, failed, ...)')
    .option('--type <type>', 'only this job type')
    .option('--link-id <linkId>', 'only jobs with this linkId')
    .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
    .option('--cursor <cursor>', 'continue from a previous page')
    .option(...urlOption, defaultUrl())
    .action(async (o: { queue?: string; state?: string; type?: string; linkId?: string; limit: number; cursor?: string; url: string }) => {
      const client = new DocketClient({ baseUrl: o.url });
      const page = await client.list({
        ...(o.queue ? { queue: o.queue } : {}),
        ...(o.state ? { state: o.state } : {}),
        ...(o.type ? { type: o.type } : {}),
        ...(o.linkId ? { linkId: o.linkId } : {}),
        ...(o.cursor ? { cursor: o.cursor } : {}),
        limit: o.limit,
      } as Parameters<DocketClient['list']>[0]);
      printJson(page);
    });
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel a job that has not finished (a running job is aborted)')
    .argument('<id>', 'job id')
    .option(...urlOption, defaultUrl())
    .action(async (id: string, o: { url: string }) => printJson(await new DocketClient({ baseUrl: o.url }).cancel(id)));
}
