import { STEPS_KEY } from '../domain/job-input.js';
import type { Json } from '../domain/job.js';
import { LeaseLostError, PermanentError } from './errors.js';
import type { ClaimedJob, WorkerTransport } from './transport.js';
import type { Handler, HandlerContext } from './worker.js';

/**
 * Multi-step jobs (docs/jobs.md#multi-step-jobs). A job submitted with `steps` holds them in its
 * payload under `$steps`; the worker runs them in order, in one claim, each by the handler of its
 * type. After each step it reports progress (done/count) together with the outputs of the steps
 * done so far, which the server keeps as the job's result: a retry (a new claim, maybe on another
 * worker) reads them back and resumes at the first step without an output.
 */
export interface Step {
  type: string;
  payload: Json;
}

/** What a step's handler sees in `ctx.step`. */
export interface StepInfo {
  /** 0-based position of this step. */
  index: number;
  count: number;
  /** Outputs of the steps before this one, in order (null for a step that returned nothing). */
  previousResults: Json[];
}

/** The steps of a multi-step job, or null for an ordinary job. */
export function stepsOf(payload: Json): Step[] | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const steps = payload[STEPS_KEY];
  if (!Array.isArray(steps)) return null;
  return steps.map((s) => {
    const o = (typeof s === 'object' && s !== null && !Array.isArray(s) ? s : {}) as { [key: string]: Json };
    return { type: String(o.type), payload: o.payload === undefined ? {} : o.payload };
  });
}

const percentOf = (done: number, count: number) => Math.min(100, Math.round((done / count) * 10_000) / 100);

/**
 * Runs a multi-step job's remaining steps; returns every step's output (the job's result).
 * `lost` tells the worker its lease is gone (a refused progress report).
 */
export async function runSteps(
  job: ClaimedJob,
  steps: readonly Step[],
  handlers: Record<string, Handler>,
  ctx: HandlerContext,
  transport: WorkerTransport,
  lost: () => void,
): Promise<Json[]> {
  if (!transport.stepProgress) throw new PermanentError('this worker transport cannot run multi-step jobs', 'no_handler');
  const missing = steps.find((s) => !handlers[s.type]);
  if (missing) throw new PermanentError(`no handler for step type "${missing.type}" (step ${steps.indexOf(missing) + 1}/${steps.length}) on this worker`, 'no_handler');
  const count = steps.length;
  const report = async (percent: number, message: string, outputs?: Json[]) => {
    const ack = await transport.stepProgress!(job, percent, message, outputs);
    if (!ack.ok) {
      lost();
      throw new LeaseLostError();
    }
    return ack.outputs;
  };
  // One read per claim: the outputs an earlier attempt kept (none on a first attempt).
  let outputs = (await report(0, `step 1/${count}: ${steps[0]!.type}`)).slice(0, count);
  if (outputs.length > 0 && outputs.length < count) {
    await report(percentOf(outputs.length, count), `resuming at step ${outputs.length + 1}/${count}: ${steps[outputs.length]!.type}`);
  }
  for (let index = outputs.length; index < count; index++) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const step = steps[index]!;
    const label = `step ${index + 1}/${count}: ${step.type}`;
    const stepCtx: HandlerContext = {
      get signal() {
        return ctx.signal;
      },
      get log() {
        return ctx.log.child({ step: index, stepType: step.type });
      },
      dependencies: () => ctx.dependencies(),
      // A step's own progress is scaled into its share of the job's.
      progress: async (percent, message) => {
        await report(percentOf(index + Math.max(0, Math.min(100, percent)) / 100, count), message === undefined ? label : `${label}: ${message}`);
      },
      step: { index, count, previousResults: outputs },
    };
    const out = await handlers[step.type]!({ ...job, type: step.type, payload: step.payload }, stepCtx);
    outputs = [...outputs, out === undefined ? null : (out as Json)];
    await report(percentOf(index + 1, count), label, outputs);
  }
  return outputs;
}
