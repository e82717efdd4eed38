import { Command, CommanderError } from 'commander';
import { ConfigError } from '../../config/index.js';
import { DocketApiError } from '../../sdk/client.js';
import { cancelCommand, getCommand, listCommand, queuesCommand, resubmitCommand, workersCommand } from './commands/jobs.js';
import { migrateCommand } from './commands/migrate.js';
import { conditionsCommand, deadLettersCommand } from './commands/recovery.js';
import { serverCommand } from './commands/server.js';
import { schedulesCommand } from './commands/schedules.js';
import { submitCommand } from './commands/submit.js';
import { templatesCommand } from './commands/templates.js';
import { tokenCommand } from './commands/token.js';
import { alertsCommand } from './commands/alerts.js';
import { topCommand } from './commands/top.js';
import { webhooksCommand } from './commands/webhooks.js';
import { workerCommand } from './commands/worker.js';
import { CliError, EXIT } from './output.js';
import { logsCommand } from './commands/logs.js';

const program = new Command('docket')
  .description('Docket: a job scheduler. Embedded on SQLite by default.')
  .showHelpAfterError()
  .exitOverride();

program.addCommand(serverCommand());
program.addCommand(migrateCommand());
program.addCommand(submitCommand());
program.addCommand(getCommand());
program.addCommand(listCommand());
program.addCommand(cancelCommand());
program.addCommand(resubmitCommand());
program.addCommand(queuesCommand());
program.addCommand(workersCommand());
program.addCommand(topCommand());
program.addCommand(alertsCommand());
program.addCommand(deadLettersCommand());
program.addCommand(conditionsCommand());
program.addCommand(schedulesCommand());
program.addCommand(workerCommand());
program.addCommand(templatesCommand());
program.addCommand(webhooksCommand());
program.addCommand(tokenCommand());
program.addCommand(logsCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = report(err);
}

function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof CliError) {
    console.error(`docket: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    console.error(`docket: configuration: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof DocketApiError) {
    console.error(`docket: ${err.message}`);
    for (const e of err.problem?.errors ?? []) console.error(`  ${e.path || '/'}: ${e.message}`);
    if (err.status === 401) console.error('  (set DOCKET_TOKEN or pass --token; mint one with `docket token --role admin`)');
    return EXIT.failure;
  }
  const cause = (err as { cause?: { code?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') {
    console.error(`docket: no server answers at ${process.env.DOCKET_URL ?? 'the server URL'}; start one with \`docket server\` or pass --url`);
    return EXIT.unavailable;
  }
  console.error(`docket: ${(err as Error).stack ?? String(err)}`);
  return EXIT.failure;
}
