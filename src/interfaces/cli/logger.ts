import { Option } from 'commander';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { CliError, EXIT } from './output.js';

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** --log-format, for the commands that log (server, worker). */
export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'pretty (the default on a terminal) or json (otherwise; env DOCKET_LOG_FORMAT)').choices(LOG_FORMATS);
}

/**
 * The process's logger: readable lines on a terminal, one JSON object a line otherwise (what log
 * collectors read), or what --log-format or DOCKET_LOG_FORMAT says. pino-pretty runs in-process
 * and synchronously, so lines keep their order with what the process writes to stderr.
 */
export function createLogger(level: string, flag?: LogFormat): Logger {
  const env = process.env.DOCKET_LOG_FORMAT;
  if (env !== undefined && !(LOG_FORMATS as readonly string[]).includes(env)) {
    throw new CliError(`DOCKET_LOG_FORMAT=${env}: give ${LOG_FORMATS.join(' or ')}`, EXIT.usage);
  }
  const format = flag ?? (env as LogFormat | undefined) ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (format === 'json') return pino({ level });
  return pino({ level }, pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
