import { isTerminal } from '../../../domain/states.js';
import type { DocketClient, JobView } from '../../../sdk/client.js';
import { CliError, EXIT } from '../output.js';

/**
 * Reads a job again until it ends, calling `onChange` with each new version (state, attempt or
 * progress changed). Polls at 250 ms, slowing to 2 s for a long job: one GET a poll, cheap for the
 * server and fine for a person watching.
 */
export async function followJob(client: DocketClient, first: JobView, onChange: (job: JobView) => void = () => {}, timeoutSeconds?: number): Promise<JobView> {
  const deadline = timeoutSeconds === undefined ? Infinity : Date.now() + timeoutSeconds * 1000;
  let job = first;
  let delay = 250;
  while (!isTerminal(job.state)) {
    if (Date.now() >= deadline) throw new CliError(`job ${job.id} is still ${job.state} after ${timeoutSeconds}s (it goes on; follow it with \`docket get ${job.id} --watch\`)`, EXIT.timedOut);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(2000, delay * 1.5);
    const next = await client.get(job.id);
    if (fingerprint(next) !== fingerprint(job)) onChange(next);
    job = next;
  }
  return job;
}

/** The job ended: what `submit --wait` waits for. */
export function waitForEnd(client: DocketClient, job: JobView, timeoutSeconds?: number): Promise<JobView> {
  return followJob(client, job, undefined, timeoutSeconds);
}

function fingerprint(j: JobView): string {
  return JSON.stringify([j.state, j.attempt, j.progress, j.updatedAt]);
}
