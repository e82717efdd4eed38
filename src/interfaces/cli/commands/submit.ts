import { Command } from 'commander';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValidationError, DocketError, type Issue } from '../../../domain/errors.js';
import { toJobSpec } from '../../../domain/job-input.js';
import type { DocketClient } from '../../../sdk/client.js';
import { issuesOf } from '../../http/problem.js';
import { SubmitBody } from '../../http/schemas.js';
import { clientOf, withConnection, type ConnectionOptions } from './connection.js';
import { CliError, EXIT, intOption, note, show } from '../output.js';
import { progressBar } from '../progress.js';
import { waitForEnd } from './watch.js';

interface SubmitOptions extends ConnectionOptions {
  file?: string;
  payload?: string;
  queue?: string;
  priority?: number;
  delay?: number;
  runAt?: string;
  expiresAt?: string;
  timeout?: number;
  maxAttempts?: number;
  linkId?: string;
  template?: string;
  templateVersion?: number;
  dedupKey?: string;
  dedupTtl?: number;
  callbackUrl?: string;
  batch: number;
  wait?: boolean;
  waitTimeout?: number;
}

export function submitCommand(): Command {
  return withConnection(new Command('submit'))
    .description('submit a job, or every job of an NDJSON file (one JSON job per line) with --file')
    .argument('[type]', "job type (selects the handler); with --template, the template's unless given")
    .option('--payload <json>', 'payload as JSON', '{}')
    .option('--queue <queue>', 'queue name (default "default")')
    .option('--priority <n>', '1 (highest) to 10 (lowest), default 5', intOption('--priority', 1, 10))
    .option('--delay <ms>', 'start no sooner than this many ms from now', intOption('--delay', 0, 31_536_000_000))
    .option('--run-at <iso>', 'start no sooner than this time (ISO 8601)')
    .option('--expires-at <iso>', 'expire the job if not started by then (ISO 8601)')
    .option('--timeout <ms>', 'per-attempt time limit', intOption('--timeout', 1, 604_800_000))
    .option('--max-attempts <n>', 'attempts before the job fails for good (default 3)', intOption('--max-attempts', 1, 1000))
    .option('--link-id <id>', 'correlation id')
    .option('--template <id>', 'submit from this template: its defaults, then the flags given here (docs/templates.md)')
    .option('--template-version <n>', 'with --template: this version (default the latest)', intOption('--template-version', 1, 2_147_483_647))
    .option('--dedup-key <key>', 'while a job of this type holds this key, return it instead of creating one (docs/jobs.md#deduplication)')
    .option('--dedup-ttl <seconds>', 'with --dedup-key: how long the key is held (default the rule\'s, else 86400)', intOption('--dedup-ttl', 1, 2_592_000))
    .option('--callback-url <url>', 'POST the job\'s end (succeeded, failed, cancelled, expired) to this http(s) URL, signed with the tenant\'s callback secret (docs/webhooks.md#job-callbacks)')
    .option('--file <path>', 'NDJSON file of jobs to submit in bulk')
    .option('--batch <n>', 'jobs per request with --file', intOption('--batch', 1, 1000), 1000)
    .option('--idempotency-key <key>', 'a retry with the same key returns the first job instead of a new one')
    .option('--wait', 'wait for the job to end; exit 0 if it succeeded, 1 if it failed, was cancelled or expired')
    .option('--wait-timeout <seconds>', 'with --wait: give up after this long (exit 4; the job goes on)', intOption('--wait-timeout', 1, 31_536_000))
    .action(async (type: string | undefined, o: SubmitOptions & { idempotencyKey?: string }) => {
      const client = clientOf(o);
      if (o.file) {
        if (o.wait) throw new CliError('--wait is for one job; not with --file', EXIT.usage);
        return submitFile(client, o.file, o.batch);
      }
      if (!type && !o.template) throw new CliError('give a job type (docket submit <type>), --template <id> or --file <jobs.ndjson>', EXIT.usage);
      if (o.templateVersion !== undefined && !o.template) throw new CliError('--template-version needs --template <id>', EXIT.usage);
      const job = await client.submit(singleInput(type, o) as unknown as Parameters<DocketClient['submit']>[0], o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {});
      // On stderr, so stdout stays the job's JSON for scripts.
      if (job.deduplicated) note(`deduplicated: job ${job.id} (${job.state}) already holds this dedup key; nothing was created`);
      if (!o.wait) return show(job, 'jobs');
      const end = await waitForEnd(client, job, o.waitTimeout);
      show(end, 'jobs');
      if (end.state !== 'succeeded') {
        const why = end.errors.at(-1)?.message ?? end.stateReason ?? end.state;
        throw new CliError(`job ${end.id} ${end.state}: ${why}`);
      }
    });
}

function singleInput(type: string | undefined, o: SubmitOptions): Record<string, unknown> {
  let payload: unknown;
  try {
    payload = JSON.parse(o.payload ?? '{}');
  } catch (err) {
    throw new CliError(`--payload: not valid JSON (${(err as Error).message})`, EXIT.usage);
  }
  const input: Record<string, unknown> = { payload };
  if (type !== undefined) input.type = type;
  if (o.template !== undefined) input.templateId = o.template;
  if (o.templateVersion !== undefined) input.templateVersion = o.templateVersion;
  if (o.queue !== undefined) input.queue = o.queue;
  if (o.priority !== undefined) input.priority = o.priority;
  if (o.delay !== undefined) input.delayMs = o.delay;
  if (o.runAt !== undefined) input.runAt = o.runAt;
  if (o.expiresAt !== undefined) input.expiresAt = o.expiresAt;
  if (o.timeout !== undefined) input.timeoutMs = o.timeout;
  if (o.maxAttempts !== undefined) input.maxAttempts = o.maxAttempts;
  if (o.linkId !== undefined) input.linkId = o.linkId;
  if (o.dedupKey !== undefined) input.dedupKey = o.dedupKey;
  if (o.dedupTtl !== undefined) input.dedupTtlSeconds = o.dedupTtl;
  if (o.callbackUrl !== undefined) input.callbackUrl = o.callbackUrl;
  return input;
}

/**
 * Reads and checks the whole file first, so a bad line stops the run before anything is
 * submitted; then submits in batches with a progress bar.
 */
async function submitFile(client: DocketClient, path: string, batch: number): Promise<void> {
  const jobs: unknown[] = [];
  const problems: string[] = [];
  const now = Date.now();
  let line = 0;
  try {
    for await (const text of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      try {
        const job = JSON.parse(text);
        for (const i of issuesOfLine(job, now)) problems.push(`${path}:${line}: ${i.path || '/'}: ${i.message}`);
        jobs.push(job);
      } catch (err) {
        if (err instanceof SyntaxError) problems.push(`${path}:${line}: not valid JSON (${err.message})`);
        else if (err instanceof DocketError) problems.push(`${path}:${line}: ${err.message}`);
        else throw err;
      }
      if (problems.length >= 20) break;
    }
  } catch (err) {
    throw new CliError(`${path}: ${(err as Error).message}`, EXIT.usage);
  }
  if (problems.length > 0) throw new CliError(`nothing submitted; fix these lines first:\n  ${problems.join('\n  ')}`, EXIT.usage);
  const bar = progressBar('submitting jobs', jobs.length);
  let submitted = 0;
  try {
    for (let i = 0; i < jobs.length; i += batch) {
      const chunk = jobs.slice(i, i + batch);
      await client.submitBulk(chunk as Parameters<DocketClient['submitBulk']>[0]);
      submitted += chunk.length;
      bar.update(submitted);
    }
  } catch (err) {
    bar.stop();
    throw new CliError(`stopped after ${submitted} of ${jobs.length} jobs (lines before that were submitted): ${(err as Error).message}`);
  }
  bar.stop();
  show({ submitted, file: path });
}

const checkBody = TypeCompiler.Compile(SubmitBody);

/**
 * What the server would refuse in one line, in its words: the request schema's checks with the
 * API's messages (problem.ts), then the job rules. A template reference is checked by the server,
 * which holds the template.
 */
function issuesOfLine(job: unknown, now: number): Issue[] {
  if (!checkBody.Check(job)) return issuesOf([...checkBody.Errors(job)]);
  if ('templateId' in job || 'templateVersion' in job) return [];
  try {
    toJobSpec(job, now);
    return [];
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
}
