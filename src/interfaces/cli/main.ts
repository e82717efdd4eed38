import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
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
import { logsCommand } from './commands/logs.js';
import { completeWords, completionCommand } from './completion.js';
import { CliError, configureOutput, EXIT, unreachable } from './output.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The server the command talks to (its --url), for the message when nobody answers there. */
let serverUrl: string | undefined;

const program = new Command('docket')
  .description('Docket: a job scheduler. Embedded on SQLite by default.')
  .version(version, '-V, --version', 'print the version')
  .showSuggestionAfterError()
  .exitOverride()
  .hook('preAction', (_, command) => {
    const o = command.opts<{ url?: string; output?: 'table' | 'json' | 'wide' | 'id'; quiet?: boolean }>();
    serverUrl = o.url;
    configureOutput(o);
  });

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
program.addCommand(completionCommand());

// Settings the subcommands do not inherit from `program` when added with addCommand: a usage
// error anywhere (a bad -o, a missing argument) exits 2 through report(), with a suggestion.
(function inherit(command: Command) {
  for (const sub of command.commands) inherit(sub.exitOverride().showSuggestionAfterError());
})(program);

try {
  // Shell completion asks with the words typed so far (completion.ts); any flags among them are
  // words to complete, not options of this run.
  if (process.argv[2] === '__complete') process.stdout.write(completeWords(program, process.argv.slice(3)));
  else await program.parseAsync(process.argv);
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
    // The detail of a validation problem already names each field; the others are listed.
    for (const e of err.problem?.errors ?? []) if (!err.message.includes(e.message)) console.error(`  ${e.path || '/'}: ${e.message}`);
    if (err.status === 401) console.error('  (set DOCKET_TOKEN or pass --token; mint one with `docket token --role admin`)');
    return EXIT.failure;
  }
  if (unreachable(err)) {
    const why = (err as { cause?: { code?: string; message?: string } }).cause;
    console.error(`docket: no server answers at ${serverUrl ?? 'the server URL'} (${why?.code ?? why?.message ?? 'fetch failed'}); start one with \`docket server\` or pass --url`);
    return EXIT.unavailable;
  }
  console.error(`docket: ${(err as Error).stack ?? String(err)}`);
  return EXIT.failure;
}

