import type { TraceCarrier } from '../../domain/trace-context.js';
import { carrierText } from '../../domain/trace-context.js';
import { startSending } from '../../tracing/spans.js';
import type { PlannedRow } from './new-job.js';

/**
 * Runs a submit's insert inside the producer spans of its jobs (one `send <queue>` span per job,
 * children of `parent` or of the active context), after giving each row the context to store: its
 * span's, or the caller's when tracing is off (docs/tracing.md). The spans end with the insert,
 * marked failed when it throws.
 */
export async function sending<T>(rows: readonly PlannedRow[], parent: TraceCarrier | null | undefined, insert: () => Promise<T>): Promise<T> {
  const spans = startSending(rows.map(({ row }) => row), parent);
  spans.carriers.forEach((c, i) => (rows[i]!.row.traceContext = carrierText(c)));
  try {
    const out = await insert();
    spans.end();
    return out;
  } catch (err) {
    spans.end(err);
    throw err;
  }
}
