import { Command } from 'commander';
import { join } from 'node:path';
import { resolveConfig } from '../../../config/index.js';
import { readSecret, SECRET_FILE } from '../../../auth/secret.js';
import { ROLES, isRole, type Role } from '../../../auth/roles.js';
import { hmacAuthenticator, parseDuration } from '../../../auth/tokens.js';
import { NAME_PATTERN } from '../../../domain/job-input.js';
import { CliError, EXIT } from '../output.js';

interface TokenOptions {
  tenant: string;
  role: string[];
  sub: string;
  expires: string;
  dataDir?: string;
}

/** Mints a token signed with the server's secret (DOCKET_JWT_SECRET, or the one in the data directory). */
export function tokenCommand(): Command {
  return new Command('token')
    .description('mint an API token (prints only the token, for `export DOCKET_TOKEN=$(docket token ...)`)')
    .option('--tenant <tenant>', 'whose jobs the token sees', 'default')
    .option('--role <role>', `${ROLES.join(', ')}; repeat or comma-separate for several`, collect, [])
    .option('--sub <subject>', 'who the token is for (appears in logs)', 'cli')
    .option('--expires <duration>', 'lifetime: 3600, 15m, 12h, 30d, 2w', '30d')
    .option('--data-dir <dir>', 'where the server keeps its data and jwt-secret (env DOCKET_DATA_DIR, default ./data)')
    .action(async (o: TokenOptions) => {
      const roles = o.role.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
      if (roles.length === 0) throw new CliError(`--role is required: one or more of ${ROLES.join(', ')}`, EXIT.usage);
      const unknown = roles.filter((r) => !isRole(r));
      if (unknown.length > 0) throw new CliError(`--role ${unknown.join(', ')}: not a role (use ${ROLES.join(', ')})`, EXIT.usage);
      if (!new RegExp(NAME_PATTERN).test(o.tenant)) throw new CliError(`--tenant ${o.tenant}: not a valid tenant name`, EXIT.usage);
      let seconds: number;
      try {
        seconds = parseDuration(o.expires);
      } catch (err) {
        throw new CliError(`--expires: ${(err as Error).message}`, EXIT.usage);
      }
      const config = resolveConfig(process.env, o.dataDir ? { dataDir: o.dataDir } : {});
      if (config.jwks) throw new CliError('tokens are verified with DOCKET_JWKS: your identity provider issues them, not Docket', EXIT.usage);
      const secretPath = join(config.dataDir, SECRET_FILE);
      const secret = config.jwtSecret ?? (await readSecret(secretPath));
      if (!secret) {
        throw new CliError(`no signing secret: set DOCKET_JWT_SECRET, or start \`docket server\` once (it creates ${secretPath})`, EXIT.usage);
      }
      const token = await hmacAuthenticator(secret).issuer!.mint({ subject: o.sub, tenant: o.tenant, roles: roles as Role[], expiresInSeconds: seconds });
      process.stdout.write(`${token}\n`);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
