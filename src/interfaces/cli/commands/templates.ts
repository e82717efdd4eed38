import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { CliError, EXIT, intOption, show } from '../output.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';

interface VersionOptions extends ConnectionOptions {
  defaults: string;
  description?: string;
}

/** `docket templates list|get|create|version|retire|delete` (docs/templates.md). */
export function templatesCommand(): Command {
  const templates = new Command('templates').description('job templates: named, versioned job defaults; submit from one with `docket submit --template <id>`');
  templates.addCommand(
    withConnection(new Command('list'))
      .description('templates of the tenant, by id, with their latest version')
      .option('--limit <n>', 'page size (1-500)', intOption('--limit', 1, 500), 50)
      .option('--cursor <cursor>', 'continue from a previous page')
      .action(async (o: ConnectionOptions & { limit: number; cursor?: string }) =>
        show(await clientOf(o).templates.list({ limit: o.limit, ...(o.cursor ? { cursor: o.cursor } : {}) })),
      ),
  );
  templates.addCommand(
    withConnection(new Command('get'))
      .description('a template with its latest version and version list, or one version with --version')
      .argument('<id>')
      .option('--version <n>', 'this version', intOption('--version', 1, 2_147_483_647))
      .action(async (id: string, o: ConnectionOptions & { version?: number }) => {
        const client = clientOf(o);
        show(o.version === undefined ? await client.templates.get(id) : await client.templates.version(id, o.version));
      }),
  );
  templates.addCommand(
    withVersionOptions(withConnection(new Command('create')))
      .description('create a template (its version 1)')
      .argument('<id>', 'template id: letters, digits and _ . : -')
      .action(async (id: string, o: VersionOptions) => show(await clientOf(o).templates.create({ id, ...versionBody(o) }), 'templates')),
  );
  templates.addCommand(
    withVersionOptions(withConnection(new Command('version')))
      .description('add the next version of a template (earlier versions never change)')
      .argument('<id>')
      .action(async (id: string, o: VersionOptions) => show(await clientOf(o).templates.addVersion(id, versionBody(o)), 'templates')),
  );
  templates.addCommand(
    withConnection(new Command('retire'))
      .description('retire a template: no new jobs or versions from it; it stays readable')
      .argument('<id>')
      .action(async (id: string, o: ConnectionOptions) => show(await clientOf(o).templates.retire(id), 'templates')),
  );
  templates.addCommand(
    withConnection(new Command('delete'))
      .description('delete a template no job was created from (otherwise retire it)')
      .argument('<id>')
      .action(async (id: string, o: ConnectionOptions) => {
        await clientOf(o).templates.delete(id);
        show({ id, deleted: true });
      }),
  );
  return templates;
}

function withVersionOptions(command: Command): Command {
  return command
    .requiredOption('--defaults <json>', 'job defaults as JSON, or @file.json, e.g. \'{"type":"email.send","queue":"email"}\'')
    .option('--description <text>', 'what the template is for');
}

function versionBody(o: VersionOptions): { defaults: never; description?: string } {
  let text = o.defaults;
  if (text.startsWith('@')) {
    try {
      text = readFileSync(text.slice(1), 'utf8');
    } catch (err) {
      throw new CliError(`--defaults ${o.defaults}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  let defaults: unknown;
  try {
    defaults = JSON.parse(text);
  } catch (err) {
    throw new CliError(`--defaults: not valid JSON (${(err as Error).message})`, EXIT.usage);
  }
  // The server validates the defaults and names each bad field.
  return { defaults: defaults as never, ...(o.description !== undefined ? { description: o.description } : {}) };
}
