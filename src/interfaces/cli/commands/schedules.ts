import { Command } from 'commander';
import type { ScheduleInput } from '../../../sdk/schedules-client.js';
import { CliError, EXIT, intOption, show } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

interface CreateOptions extends ConnectionOptions {
  cron: string;
  timezone?: string;
  type?: string;
  job?: string;
  payload?: string;
  queue?: string;
  priority?: number;
  maxAttempts?: number;
  overlap?: string;
  catchUp?: string;
  catchUpLimit?: number;
  startAt?: string;
  endAt?: string;
  paused?: boolean;
}

/** `docket schedules list|get|create|preview|pause|resume|delete|fires` (docs/schedules.md). */
export function schedulesCommand(): Command {
  const cmd = new Command('schedules').description('cron schedules: a job submitted at every fire time of a cron expression, in a time zone');
  cmd.addCommand(
    withConnection(new Command('list'))
      .description('schedules of your tenant, oldest first')
      .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
      .option('--cursor <cursor>', 'continue from a previous page')
      .action(async (o: ConnectionOptions & { limit: number; cursor?: string }) =>
        show(await clientOf(o).schedules.list({ limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) })),
      ),
  );
  cmd.addCommand(
    withConnection(new Command('get'))
      .description('one schedule, with its next fire times')
      .argument('<id>')
      .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).schedules.get(id))),
  );
  cmd.addCommand(
    withConnection(new Command('create'))
      .description('create a schedule: docket schedules create nightly --cron "30 2 * * *" --timezone Europe/Berlin --type report')
      .argument('<name>', 'unique within your tenant')
      .requiredOption('--cron <expr>', '5 fields, 6 with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly')
      .option('--timezone <zone>', 'IANA time zone (default UTC)')
      .option('--type <type>', 'job type to submit at each fire')
      .option('--job <json>', 'the whole job as JSON, as for POST /v1/jobs (instead of --type and the job flags)')
      .option('--payload <json>', 'job payload as JSON')
      .option('--queue <queue>', 'job queue')
      .option('--priority <n>', 'job priority, 1 (highest) to 10', intOption('--priority', 1, 10))
      .option('--max-attempts <n>', 'job attempts', intOption('--max-attempts', 1, 1000))
      .option('--overlap <policy>', 'skip (default), allow, cancel-previous')
      .option('--catch-up <policy>', 'none, latest (default), all')
      .option('--catch-up-limit <n>', 'most missed fires replayed by --catch-up all (default 10)', intOption('--catch-up-limit', 1, 1000))
      .option('--start-at <iso>', 'no fire before this time')
      .option('--end-at <iso>', 'no fire after this time')
      .option('--paused', 'create it paused')
      .action(async (name: string, o: CreateOptions) => show(await clientOf(o).schedules.create(createInput(name, o)), 'schedules')),
  );
  cmd.addCommand(
    withConnection(new Command('preview'))
      .description('the next fire times of an expression in a zone, before saving: docket schedules preview "30 2 * * *" --timezone Europe/Berlin')
      .argument('<cron>')
      .option('--timezone <zone>', 'IANA time zone (default UTC)')
      .option('--count <n>', 'how many (1-100)', intOption('--count', 1, 100), 10)
      .option('--from <iso>', 'fires after this time (default now)')
      .action(async (cron: string, o: ConnectionOptions & { timezone?: string; count: number; from?: string }) =>
        show(await clientOf(o).schedules.preview({ cron, count: o.count, ...(o.timezone ? { timezone: o.timezone } : {}), ...(o.from ? { from: o.from } : {}) })),
      ),
  );
  for (const [verb, what] of [
    ['pause', 'stop firing until resumed'],
    ['resume', 'fire again, from now (the fires missed while paused are not caught up)'],
  ] as const) {
    cmd.addCommand(
      withConnection(new Command(verb))
        .argument('<id>')
        .description(what)
        .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).schedules[verb](id), 'schedules')),
    );
  }
  cmd.addCommand(
    withConnection(new Command('delete'))
      .argument('<id>')
      .description('delete the schedule (the jobs it submitted stay)')
      .action(async (id: string, o: ConnectionOptions) => {
        await clientOf(o).schedules.delete(id);
        show({ id, deleted: true });
      }),
  );
  cmd.addCommand(
    withConnection(new Command('fires'))
      .argument('<id>')
      .description('what became of the latest fire times, newest first')
      .option('--limit <n>', 'how many (1-500)', intOption('--limit', 1, 500), 50)
      .action(async (id: string, o: ConnectionOptions & { limit: number }) => show({ fires: await clientOf(o).schedules.fires(id, o.limit) })),
  );
  return cmd;
}

function createInput(name: string, o: CreateOptions): ScheduleInput {
  if (!o.type && !o.job) throw new CliError('give the job to submit: --type <type> (with --payload, --queue...) or --job <json>', EXIT.usage);
  if (o.type && o.job) throw new CliError('give --type or --job, not both', EXIT.usage);
  const job = o.job
    ? (parseJson('--job', o.job) as ScheduleInput['job'])
    : {
        type: o.type!,
        ...(o.payload !== undefined ? { payload: parseJson('--payload', o.payload) } : {}),
        ...(o.queue ? { queue: o.queue } : {}),
        ...(o.priority !== undefined ? { priority: o.priority } : {}),
        ...(o.maxAttempts !== undefined ? { maxAttempts: o.maxAttempts } : {}),
      };
  // Policies go to the server as typed; it names a bad value with the allowed ones.
  return {
    name,
    cron: o.cron,
    job,
    ...(o.timezone ? { timezone: o.timezone } : {}),
    ...(o.overlap ? { overlap: o.overlap as ScheduleInput['overlap'] } : {}),
    ...(o.catchUp ? { catchUp: o.catchUp as ScheduleInput['catchUp'] } : {}),
    ...(o.catchUpLimit !== undefined ? { catchUpLimit: o.catchUpLimit } : {}),
    ...(o.startAt ? { startAt: o.startAt } : {}),
    ...(o.endAt ? { endAt: o.endAt } : {}),
    ...(o.paused ? { paused: true } : {}),
  };
}

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${flag}: not valid JSON (${(err as Error).message})`, EXIT.usage);
  }
}
