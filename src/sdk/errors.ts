/** Typed outcomes a handler can raise, and the reasons a job's AbortSignal fires. */

/** Throw from a handler for an error that retrying cannot fix: the job fails at once. */
export class PermanentError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

/**
 * Throw from a handler when a shared condition is to blame (a downstream service is down): the job
 * parks under `condition` (e.g. `service:payments-api`) with every other job that hit it, and the
 * recovery policy probes the condition and releases them, throttled, once it clears. The attempt
 * does not count.
 */
export class TransientError extends Error {
  constructor(
    readonly condition: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransientError';
  }
}

/** The attempt ran past the job's timeoutMs. It counts as a failed attempt. */
export class TimeoutError extends Error {
  readonly code = 'timeout';
  constructor(ms: number) {
    super(`attempt timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The job was cancelled while it ran. Nothing is reported for it. */
export class CancelledError extends Error {
  readonly code = 'cancelled';
  constructor() {
    super('job cancelled');
    this.name = 'CancelledError';
  }
}

/** The worker no longer holds the job's lease (it ran out; the job may run elsewhere). */
export class LeaseLostError extends Error {
  readonly code = 'lease_lost';
  constructor() {
    super('lease lost: the job may be running on another worker');
    this.name = 'LeaseLostError';
  }
}

/** The worker is shutting down and gives the job back. */
export class ShutdownError extends Error {
  readonly code = 'shutdown';
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}
