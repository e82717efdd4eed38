/** How CLI commands print results and fail: JSON to stdout, messages to stderr, exit codes. */

export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3 } as const;

/** An error the CLI reports as a message (no stack) with an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function defaultUrl(): string {
  return process.env.DOCKET_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
}

/** Parses a whole-number option, or fails naming the flag. */
export function intOption(flag: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag} ${raw}: must be a whole number from ${min} to ${max}`, EXIT.usage);
    return n;
  };
}
