import type { Logger } from 'pino';

/** The message of the log line an unhandled promise rejection makes (the chaos suite looks for it). */
export const UNHANDLED_REJECTION = 'unhandled promise rejection (a bug: please report it); the process goes on';

/**
 * What a long-running process (`docket server`, `docket worker`) does with an error nobody handled.
 *
 * - An unhandled promise rejection is a bug: a promise whose failure nobody awaited, typically a
 *   fire-and-forget call. Its own work is lost whether the process exits or not; exiting (Node's
 *   default) also drops every lease, request and connection the process holds, and an unsupervised
 *   node stays down (a soak lost a worker so, docs/reliability.md). So it is logged at error level
 *   with its stack and the process goes on. It is not hidden: the chaos suite and the soak fail
 *   when any process logs this line, and an operator can alert on it.
 * - An uncaught exception (a throw outside any promise) leaves the process in a state nobody
 *   planned for: it is logged at fatal level, then Node prints it and exits with code 1 as usual,
 *   for the supervisor to restart.
 */
export function handleProcessErrors(log: Logger): void {
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, UNHANDLED_REJECTION));
  process.on('uncaughtExceptionMonitor', (err, origin) => log.fatal({ err, origin }, 'uncaught exception: the process exits'));
}
