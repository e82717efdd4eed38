import { Command } from 'commander';
import { CliError, EXIT, intOption, show, streamer } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';
import { followJob } from './watch.js';

export function getCommand(): Command {
  return withConnection(new Command('get'))
    .description('show one job; --watch prints it again at every change until it ends')
    .argument('<id>', 'job id')
    .option('-w, --watch', 'print a line each time the job changes (state, attempt, progress), until it ends')
    .action(async (id: string, o: ConnectionOptions & { watch?: boolean }) => {
      const client = clientOf(o);
      const job = await client.get(id);
      if (!o.watch) return show(job);
      const print = streamer('jobs');
      print(job);
      await followJob(client, job, print);
    });
}

interface ListOptions extends ConnectionOptions {
  queue?: string;
  state?: string;
  type?: string;
  linkId?: string;
  template?: string;
  label: string[];
  limit: number;
  cursor?: string;
}

export function listCommand(): Command {
  return withConnection(new Command('list'))
    .description('list jobs, newest first')
    .option('--queue <queue>', 'only this queue')
    .option('--state <state>', 'only this state (ready, running, succeeded, failed, ...)')
    .option('--type <type>', 'only this job type')
    .option('--link-id <linkId>', 'only jobs with this linkId')
    .option('--template <id>', 'only jobs created from this template')
    .option('--label <name=value>', 'only jobs with this label (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(async (o: ListOptions) => {
      const labels: Record<string, string> = {};
      for (const pair of o.label) {
        const at = pair.indexOf('=');
        if (at <= 0) throw new CliError(`--label ${pair}: expected name=value`, EXIT.usage);
        labels[pair.slice(0, at)] = pair.slice(at + 1);
      }
      const page = await clientOf(o).list({
        ...(o.queue ? { queue: o.queue } : {}),
        ...(o.state ? { state: o.state } : {}),
        ...(o.type ? { type: o.type } : {}),
        ...(o.linkId ? { linkId: o.linkId } : {}),
        ...(o.template ? { templateId: o.template } : {}),
        ...(o.label.length > 0 ? { labels } : {}),
        ...(o.cursor ? { cursor: o.cursor } : {}),
        limit: o.limit,
      } as Parameters<ReturnType<typeof clientOf>['list']>[0]);
      show(page);
    });
}

export function cancelCommand(): Command {
  return withConnection(new Command('cancel'))
    .description('cancel a job that has not finished (a running job is aborted)')
    .argument('<id>', 'job id')
    .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).cancel(id), 'jobs'));
}

export function resubmitCommand(): Command {
  return withConnection(new Command('resubmit'))
    .description('submit a finished job again as a new job (same linkId, resubmittedFrom set)')
    .argument('<id>', 'job id')
    .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).resubmit(id), 'jobs'));
}

export function queuesCommand(): Command {
  const queues = new Command('queues').description('list queues with job counts per state; pause or resume one');
  queues.addCommand(withConnection(new Command('list')).description('queues with job counts per state').action(async (o: ConnectionOptions) => show({ queues: await clientOf(o).queues() })));
  queues.addCommand(
    withConnection(new Command('pause'))
      .description('stop handing out jobs of a queue (submits are still accepted)')
      .argument('<queue>')
      .action(async (queue: string, o: ConnectionOptions) => show(await clientOf(o).pauseQueue(queue), 'queues')),
  );
  queues.addCommand(
    withConnection(new Command('resume'))
      .description('hand out jobs of a paused queue again')
      .argument('<queue>')
      .action(async (queue: string, o: ConnectionOptions) => show(await clientOf(o).resumeQueue(queue), 'queues')),
  );
  return queues;
}

interface WorkersOptions extends ConnectionOptions {
  status?: 'active' | 'lost';
  queue?: string;
  limit?: number;
  cursor?: string;
}

export function workersCommand(): Command {
  return withConnection(new Command('workers'))
    .description('list workers (remote, in-process, --role worker) with their last heartbeat and status: every page, or one with --limit')
    .option('--status <status>', 'active or lost')
    .option('--queue <name>', 'only workers serving this queue')
    .option('--limit <n>', 'one page of at most n (1-1000), with its nextCursor', intOption('--limit', 1, 1000))
    .option('--cursor <cursor>', 'the nextCursor of the previous page')
    .action(async (o: WorkersOptions) => {
      const filter = { ...(o.status ? { status: o.status } : {}), ...(o.queue ? { queue: o.queue } : {}) };
      const client = clientOf(o);
      if (o.limit === undefined && o.cursor === undefined) return show({ workers: await client.workers(filter), nextCursor: null });
      return show(await client.workersPage({ ...filter, ...(o.limit !== undefined ? { limit: o.limit } : {}), ...(o.cursor ? { cursor: o.cursor } : {}) }));
    });
}
