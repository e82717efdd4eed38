import { Command } from 'commander';
import type { DeadLetterFilter } from '../../../sdk/client.js';
import { CliError, EXIT, intOption, printJson } from '../output.js';
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
        printJson(await clientOf(o).deadLetters({ ...filterOf(o), limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) })),
      ),
  );
  cmd.addCommand(
    withConnection(new Command('show'))
      .description('one dead letter with its error history')
      .argument('<id>')
      .action(async (id: string, o: ConnectionOptions) => printJson(await clientOf(o).deadLetter(id))),
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
        .action(async (ids: string[], o: FilterOptions & { all?: boolean; max?: number }) => {
          const filter = filterOf(o);
          if (ids.length === 0 && !o.all && Object.keys(filter).length === 0) {
            throw new CliError(`give job ids, filter options, or --all to ${name} every dead letter`, EXIT.usage);
          }
          if (ids.length > 0 && Object.keys(filter).length > 0) throw new CliError('give ids or filter options, not both', EXIT.usage);
          const client = clientOf(o);
          const selection = ids.length > 0 ? { ids } : { filter, ...(o.max ? { max: o.max } : {}) };
          printJson(name === 'requeue' ? await client.requeueDeadLetters(selection) : await client.purgeDeadLetters(selection));
        }),
    );
  }
  return cmd;
}

/** `docket conditions list|show|release|drain|fail`. */
export function conditionsCommand(): Command {
  const cmd = new Command('conditions').description('recovery conditions: what jobs are parked under, and releasing them by hand');
  cmd.addCommand(withConnection(new Command('list')).description('open conditions with parked counts').action(async (o: ConnectionOptions) => printJson(await clientOf(o).conditions())));
  cmd.addCommand(
    withConnection(new Command('show'))
      .argument('<key>')
      .description('one condition')
      .action(async (key: string, o: ConnectionOptions) => printJson(await clientOf(o).condition(key))),
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
        .action(async (key: string, o: ConnectionOptions) => printJson(await clientOf(o).actOnCondition(key, action))),
    );
  }
  return cmd;
}
