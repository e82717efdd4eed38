// What the server's log says about the engine's changes (src/app/engine-log.ts, docs/logs.md):
// the line an operator reads for each, at its level. The events themselves are tested on both
// deployments (lifecycle, recovery); this is the log's wording of them, in the process that hears
// them, so one embedded engine on a manual clock serves.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { logEngineChanges } from '../src/app/engine-log.js';
import { manualDeployments, type ManualEngine } from './helpers/deployments.js';

const [embedded] = manualDeployments();
let engine: ManualEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** An engine whose changes are logged into `lines` (parsed pino records). */
async function logged(): Promise<{ e: ManualEngine; lines: Record<string, any>[]; stop: () => void }> {
  const e = (engine = await embedded!.open());
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { e, lines, stop: logEngineChanges(e.docket, pino({ level: 'info' }, sink)) };
}

const WARN = 40;
const INFO = 30;
const ERROR = 50;

describe('the engine log', () => {
  it('logs a job failed for good at error, once, with its error, reason and attempts', async () => {
    const { e, lines } = await logged();
    const [job] = await e.service.submitter.submit([{ type: 'extract', queue: 'etl', maxAttempts: 1 }], { tenant: 't1' });
    const [run] = await e.service.claims.claim({ workerId: 'w', queues: ['etl'], max: 1 });
    await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'source gone' });
    expect((await e.service.queries.get(job!.id))!.state).toBe('failed');
    expect(lines).toEqual([
      expect.objectContaining({ level: ERROR, jobId: job!.id, queue: 'etl', type: 'extract', tenant: 't1', attempts: 1, maxAttempts: 1, error: 'source gone' }),
    ]);
    expect(lines[0]!.msg).toBe(`job dead-lettered (${lines[0]!.reason}): source gone`);
  });

  it('words each turn of a recovery condition at its level', async () => {
    const { e, lines } = await logged();
    const at = e.clock.now();
    const emit = e.service.parking.events.emit.bind(e.service.parking.events);
    emit({ type: 'probe_failed', condition: 'error:ETIMEDOUT', jobId: 'j1', at });
    emit({ type: 'reopened', condition: 'error:ETIMEDOUT', at });
    emit({ type: 'exhausted', condition: 'error:ETIMEDOUT', jobs: 3, at });
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [INFO, 'recovery condition error:ETIMEDOUT: the probe hit it again; next probe after backoff'],
      [WARN, 'recovery condition error:ETIMEDOUT reopened: a released job hit it again; releasing stopped'],
      [WARN, 'recovery condition error:ETIMEDOUT: 3 jobs parked too long were failed'],
    ]);
    expect(lines[0]).toMatchObject({ condition: 'error:ETIMEDOUT', jobId: 'j1' });
    expect(lines[2]).toMatchObject({ jobs: 3 });
  });

  it('stops logging when told to', async () => {
    const { e, lines, stop } = await logged();
    stop();
    e.service.parking.events.emit({ type: 'reopened', condition: 'c', at: e.clock.now() });
    const [job] = await e.service.submitter.submit([{ type: 'x', maxAttempts: 1 }], { tenant: 't1' });
    const [run] = await e.service.claims.claim({ workerId: 'w', queues: ['default'], max: 1 });
    await e.service.outcomes.fail(run!.id, run!.leaseToken!, { message: 'boom' });
    // The failure is recorded (a positive marker that the engine moved), and nothing was logged.
    expect((await e.service.queries.get(job!.id))!.state).toBe('failed');
    expect(lines).toEqual([]);
  });
});
