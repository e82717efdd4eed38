import { Command } from 'commander';
import type { DeadLetterFilter, DocketClient, JobView } from '../../../sdk/client.js';
import { progressBar } from '../progress.js';
import { CliError, EXIT, intOption, show } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

interface FilterOptions extends ConnectionOptions {
  queue?: string;
  type?: string;
  error?: string;
  failedAfter?: string;
  failedBefore?: string;
}

function filterOptions(command: Command): Command {
  return command
    .option('--queue <queue>', 'only this queue')
    .option('--type <type>', 'only this job type')
    .option('--error <text>', 'only jobs with an error containing this text')
    .option('--failed-after <iso>', 'failed at or after this time')
    .option('--failed-before <iso>', 'failed before this time');
}

function filterOf(o: FilterOptions): DeadLetterFilter {
  return {
    ...(o.queue ? { queue: o.queue } : {}),
    ...(o.type ? { type: o.type } : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.failedAfter ? { failedAfter: o.failedAfter } : {}),
    ...(o.failedBefore ? { failedBefore: o.failedBefore } : {}),
  };
}

/** `docket dead-letters list|show|requeue|purge`. */
export function deadLettersCommand(): Command {
  const cmd = new Command('dead-letters').description('failed jobs: list, inspect, requeue with a fresh attempt budget, purge');
  cmd.addCommand(
    filterOptions(withConnection(new Command('list')))
      .description('failed jobs, newest first')
      .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
      .option('--cursor <cursor>', 'continue from a previous page')
      .action(async (o: FilterOptions & { limit: number; cursor?: string }) =>
        show(await clientOf(o).deadLetters({ ...filterOf(o), limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) })),
      ),
  );
  cmd.addCommand(
    withConnection(new Command('show'))
      .description('one dead letter with its error history')
      .argument('<id>')
      .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).deadLetter(id))),
  );
  for (const [name, what] of [
    ['requeue', 'back to the queue as new attempts (fresh attempt budget, history kept)'],
    ['purge', 'delete for good'],
  ] as const) {
    cmd.addCommand(
      filterOptions(withConnection(new Command(name)))
        .description(`${what}: the given ids, or every dead letter matching the filter (--all for no filter)`)
        .argument('[ids...]')
        .option('--all', 'every dead letter you may see (with the filter options: every match)')
        .option('--max <n>', 'most dead letters acted on by a filter', intOption('--max', 1, 100_000))
        .option('--dry-run', `list the dead letters this would ${name}, and change nothing`)
        .action(async (ids: string[], o: FilterOptions & { all?: boolean; max?: number; dryRun?: boolean }) => {
          const filter = filterOf(o);
          if (ids.length === 0 && !o.all && Object.keys(filter).length === 0) {
            throw new CliError(`give job ids, filter options, or --all to ${name} every dead letter`, EXIT.usage);
          }
          if (ids.length > 0 && Object.keys(filter).length > 0) throw new CliError('give ids or filter options, not both', EXIT.usage);
          const client = clientOf(o);
          if (o.dryRun) return show(await dryRun(client, ids, filter, o.max));
          // On a terminal, many dead letters go in chunks with a progress bar; otherwise (scripts)
          // in one request, as before.
          if (process.stderr.isTTY && !process.env.DOCKET_NO_PROGRESS) return show(await inChunks(client, name, ids, filter, o.max));
          const selection = ids.length > 0 ? { ids } : { filter, ...(o.max ? { max: o.max } : {}) };
          show(name === 'requeue' ? await client.requeueDeadLetters(selection) : await client.purgeDeadLetters(selection));
        }),
    );
  }
  return cmd;
}

const CHUNK = 500;

/**
 * What requeue or purge would act on, read and not changed: the dead letters among `ids`, or
 * those the filter matches (up to `max`, default 10,000 as the server's), as a jobs list.
 */
async function dryRun(client: DocketClient, ids: string[], filter: DeadLetterFilter, max = 10_000): Promise<{ jobs: JobView[] }> {
  if (ids.length === 0) return { jobs: await matching(client, filter, max) };
  const found = await Promise.all(ids.map((id) => client.deadLetter(id).catch((err: { status?: number }) => (err.status === 404 ? null : Promise.reject(err)))));
  return { jobs: found.filter((j): j is JobView => j !== null) };
}

/** The dead letters a filter matches, page by page, up to `max`. */
async function matching(client: DocketClient, filter: DeadLetterFilter, max: number, onPage: (found: number) => void = () => {}): Promise<JobView[]> {
  const jobs: JobView[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.deadLetters({ ...filter, limit: Math.min(CHUNK, max - jobs.length), ...(cursor ? { cursor } : {}) });
    jobs.push(...page.jobs);
    onPage(jobs.length);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && jobs.length < max);
  return jobs;
}

/**
 * Requeue or purge with a progress bar: the ids given, or those the filter matches (listed first,
 * up to `max`, default 10,000 as the server's), acted on 500 at a time. The reply is the one a
 * single request gives.
 */
async function inChunks(client: DocketClient, action: 'requeue' | 'purge', ids: string[], filter: DeadLetterFilter, max = 10_000) {
  let selected = ids;
  if (selected.length === 0) {
    const finding = progressBar('finding dead letters', max);
    try {
      selected = (await matching(client, filter, max, (n) => finding.update(n))).map((j) => j.id);
      finding.setTotal(selected.length);
    } finally {
      finding.stop();
    }
  }
  const bar = progressBar(action === 'requeue' ? 'requeueing' : 'purging', selected.length);
  let requeued: string[] = [];
  let purged = 0;
  try {
    for (let i = 0; i < selected.length; i += CHUNK) {
      const chunk = selected.slice(i, i + CHUNK);
      if (action === 'requeue') requeued = requeued.concat((await client.requeueDeadLetters({ ids: chunk })).ids);
      else purged += (await client.purgeDeadLetters({ ids: chunk })).purged;
      bar.update(Math.min(selected.length, i + CHUNK));
    }
  } catch (err) {
    bar.stop();
    const done = action === 'requeue' ? requeued.length : purged;
    throw new CliError(`stopped after ${done} of ${selected.length} dead letters: ${(err as Error).message}`);
  }
  bar.stop();
  return action === 'requeue' ? { requeued: requeued.length, ids: requeued } : { purged };
}

/** `docket conditions list|show|release|drain|fail`. */
export function conditionsCommand(): Command {
  const cmd = new Command('conditions').description('recovery conditions: what jobs are parked under, and releasing them by hand');
  cmd.addCommand(withConnection(new Command('list')).description('open conditions with parked counts').action(async (o: ConnectionOptions) => show({ conditions: await clientOf(o).conditions() })));
  cmd.addCommand(
    withConnection(new Command('show'))
      .argument('<key>')
      .description('one condition')
      .action(async (key: string, o: ConnectionOptions) => show(await clientOf(o).condition(key))),
  );
  for (const [action, what] of [
    ['release', 'declare it cleared: parked jobs go back at the policy\'s throttled rate'],
    ['drain', 'every parked job back to the queue at once'],
    ['fail', 'every parked job fails (dead letters)'],
  ] as const) {
    cmd.addCommand(
      withConnection(new Command(action))
        .argument('<key>')
        .description(what)
        .action(async (key: string, o: ConnectionOptions) => show(await clientOf(o).actOnCondition(key, action))),
    );
  }
  return cmd;
}
