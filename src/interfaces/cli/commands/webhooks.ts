import { Command, Option } from 'commander';
import { CliError, EXIT, intOption, show } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

interface CreateOptions extends ConnectionOptions {
  events?: string;
  queue?: string;
  job?: string;
  description?: string;
}

/** Comma-separated event types (`job.succeeded,job.failed`). */
function eventsOf(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const events = raw.split(',').map((e) => e.trim()).filter(Boolean);
  if (events.length === 0) throw new CliError('--events: give event types, e.g. job.succeeded,job.failed (or * for all)', EXIT.usage);
  return events;
}

/** `docket webhooks list|create|get|update|deliveries|enable|rotate-secret|test|delete`. */
export function webhooksCommand(): Command {
  const cmd = new Command('webhooks').description('webhook subscriptions: signed HTTP POSTs of job events to your URL, with retries and a delivery log');
  cmd.addCommand(
    withConnection(new Command('list'))
      .description('subscriptions of your tenant (admins: every tenant, or --for-tenant)')
      .option('--for-tenant <tenant>', 'admins: one tenant\'s subscriptions')
      .action(async (o: ConnectionOptions & { forTenant?: string }) => show({ webhooks: await clientOf(o).webhooks.list(o.forTenant ? { tenant: o.forTenant } : {}) })),
  );
  cmd.addCommand(
    withConnection(new Command('create'))
      .description('subscribe a URL; prints the signing secret, shown only this once')
      .argument('<hook-url>', 'where deliveries are POSTed (http or https)')
      .option('--events <types>', 'comma-separated event types, e.g. job.succeeded,job.failed or job.* (default: all)')
      .option('--queue <queue>', 'only this queue\'s events')
      .option('--job <id>', 'only this job\'s events')
      .option('--description <text>', 'a note for people')
      .option('--cluster', 'admins: the cluster\'s own events (worker.*, alert.*: tenant "*") rather than a tenant\'s')
      .action(async (hookUrl: string, o: CreateOptions & { cluster?: boolean }) => {
        const events = eventsOf(o.events);
        show(
          await clientOf(o).webhooks.create({
            url: hookUrl,
            ...(events ? { events } : {}),
            ...(o.queue ? { queue: o.queue } : {}),
            ...(o.job ? { jobId: o.job } : {}),
            ...(o.description ? { description: o.description } : {}),
            ...(o.cluster ? { cluster: true } : {}),
          }),
          'webhooks',
        );
      }),
  );
  cmd.addCommand(
    withConnection(new Command('get'))
      .argument('<id>')
      .description('one subscription')
      .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).webhooks.get(id), 'webhooks')),
  );
  cmd.addCommand(
    withConnection(new Command('update'))
      .argument('<id>')
      .description('change the URL, event types or description; --disable stops deliveries')
      .option('--hook-url <url>', 'a new URL to deliver to')
      .option('--events <types>', 'comma-separated event types (* for all)')
      .option('--description <text>', 'a new note')
      .option('--disable', 'disable it (enable again with `docket webhooks enable`)')
      .action(async (id: string, o: ConnectionOptions & { hookUrl?: string; events?: string; description?: string; disable?: boolean }) => {
        const events = eventsOf(o.events);
        const change = { ...(o.hookUrl ? { url: o.hookUrl } : {}), ...(events ? { events } : {}), ...(o.description !== undefined ? { description: o.description } : {}), ...(o.disable ? { enabled: false } : {}) };
        if (Object.keys(change).length === 0) throw new CliError('nothing to change: give --hook-url, --events, --description or --disable', EXIT.usage);
        show(await clientOf(o).webhooks.update(id, change), 'webhooks');
      }),
  );
  cmd.addCommand(
    withConnection(new Command('deliveries'))
      .argument('<id>')
      .description('the delivery log, newest event first: status, attempts, answers, next retry')
      .addOption(new Option('--status <status>', 'only these').choices(['pending', 'delivered', 'failed']))
      .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
      .option('--cursor <cursor>', 'continue from a previous page')
      .action(async (id: string, o: ConnectionOptions & { status?: 'pending' | 'delivered' | 'failed'; limit: number; cursor?: string }) =>
        show(await clientOf(o).webhooks.deliveries(id, { limit: o.limit, ...(o.status ? { status: o.status } : {}), ...(o.cursor ? { cursor: o.cursor } : {}) })),
      ),
  );
  for (const [name, what] of [
    ['enable', 'enable a disabled subscription: its run of failures starts over and pending deliveries go out now'],
    ['rotate-secret', 'a new signing secret, used from the next attempt on (printed this once)'],
    ['test', 'send a signed docket.webhook.ping now and show what the receiver answered'],
  ] as const) {
    cmd.addCommand(
      withConnection(new Command(name))
        .argument('<id>')
        .description(what)
        .action(async (id: string, o: ConnectionOptions) => {
          const client = clientOf(o).webhooks;
          show(name === 'enable' ? await client.enable(id) : name === 'test' ? await client.test(id) : await client.rotateSecret(id));
        }),
    );
  }
  cmd.addCommand(
    withConnection(new Command('delete'))
      .argument('<id>')
      .description('delete a subscription with its delivery log')
      .action(async (id: string, o: ConnectionOptions) => {
        await clientOf(o).webhooks.delete(id);
        show({ id, deleted: true });
      }),
  );
  return cmd;
}
