// An example handlers module for `docket server` and `docket worker`.
// Each export key is a job type; the handler gets the job and a context with an AbortSignal
// (cancel, timeout, shutdown), progress(percent, message) and a logger. Its return value is the
// job's result. Throw to fail the attempt (it retries with backoff while attempts are left).

/** Queues the in-process worker serves (overridden by --queues). */
export const queues = ['default'];

export const handlers = {
  /** Does nothing: for benchmarks and smoke tests. */
  noop: async () => {},

  /** Returns its payload. */
  echo: async (job) => job.payload,

  /** Waits payload.ms milliseconds in ten steps, reporting progress; stops early when aborted. */
  sleep: async (job, { signal, progress, log }) => {
    const ms = Number(job.payload?.ms ?? 1000);
    for (let step = 1; step <= 10; step++) {
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, ms / 10);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        }, { once: true });
      });
      await progress(step * 10, `step ${step} of 10`);
      log.info({ step }, `step ${step} of 10 done`);
    }
    return { sleptMs: ms };
  },

  /** Fails with payload.message (a plain error: retried with backoff). */
  fail: async (job) => {
    throw new Error(job.payload?.message ?? 'failed on purpose');
  },
};
