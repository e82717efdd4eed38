// The variants the benchmarks compare, by name. `thread`: the store runs on a worker thread and
// `format` is how batches cross between the threads.
import { openToday } from './today.mjs';
import { openNarrow, jobOf, jobsOfWire, groupsOf } from './narrow.mjs';

export const VARIANTS = {
  A: { label: "today's schema, statements, triggers and heap" },
  'C-loop': { narrow: { stmts: 'loop', events: 'batch' }, label: 'narrow hot table + spec, statement per job, event row per batch' },
  'C-json': { narrow: { stmts: 'json', events: 'batch' }, label: 'narrow, one statement per batch (json_each), event row per batch' },
  'C-trig': { narrow: { stmts: 'json', events: 'trigger' }, label: 'C-json with a row trigger per change instead (D off)' },
  CM: { narrow: { stmts: 'json', events: 'batch', finish: 'move' }, label: 'C-json, finished jobs move to an append-only table' },
  CE: { narrow: { stmts: 'json', events: 'batch', dispatch: 'window' }, label: 'C-json, dispatch window paged from the ready index' },
  CEF: { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced' }, label: 'CE, claim kept in memory, one write per job' },
  CEW: { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', wire: true }, label: 'CE, claimed batch as one JSON text made by SQLite' },
  CEFW: { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced', wire: true }, label: 'CEF, claimed batch as one JSON text made by SQLite' },
  'CEFW-e': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced', wire: true, claimEvent: true }, label: 'CEFW, the claim batch writes its started event row (attempts countable after a crash)' },
  'BF-wire-e': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced', wire: true, claimEvent: true }, thread: true, format: 'wire', label: 'CEFW-e on a worker thread' },
  'B-wire': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', wire: true }, thread: true, format: 'wire', label: 'CEW on a worker thread: one string each way per batch' },
  'BF-wire': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced', wire: true }, thread: true, format: 'wire', label: 'CEFW on a worker thread: one string each way per batch' },
  'B-wire-fused': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', wire: true }, thread: true, format: 'wire', fuse: true, label: 'B-wire; a submit that finds a claim waiting is inserted and claimed in one transaction' },
  'B-clone': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window' }, thread: true, format: 'clone', label: 'CE on a worker thread, structured clone' },
  'B-packed': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window' }, thread: true, format: 'packed', label: 'CE on a worker thread, packed buffers transferred' },
  'B-rows': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', rows: true }, thread: true, format: 'rows', label: 'CE on a worker thread, spec rows cloned, jobs built on the main thread' },
  'BF-rows': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced', rows: true }, thread: true, format: 'rows', label: 'CEF on a worker thread, spec rows cloned, jobs built on the main thread' },
  'BF-packed': { narrow: { stmts: 'json', events: 'batch', dispatch: 'window', claim: 'coalesced' }, thread: true, format: 'packed', label: 'CEF on a worker thread, packed buffers' },
};

export function openVariant(name, path, synchronous = 'NORMAL', { reopen = false } = {}) {
  const v = VARIANTS[name];
  if (!v) throw new Error(`no variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
  return v.narrow ? openNarrow(path, { ...v.narrow, synchronous, reopen }) : openToday(path, { synchronous, reopen });
}

/** A batch as it crosses between threads. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
export function encode(format, value) {
  if (format === 'clone' || format === 'rows' || format === 'wire') return { msg: value, transfer: [] };
  const bytes = encoder.encode(JSON.stringify(value));
  return { msg: bytes, transfer: [bytes.buffer] };
}
export function decode(format, msg) {
  return format === 'clone' || format === 'rows' || format === 'wire' ? msg : JSON.parse(decoder.decode(msg));
}
/** The claimed jobs a handler gets: in the `rows` format the main thread builds them from the spec rows. */
export const handlerJobs = (format, list) =>
  format === 'rows' ? list.map((r) => jobOf(r, r.attempt, r.lease, r.startedAt)) : format === 'wire' ? jobsOfWire(list) : list;
/** What the handler side sends back for finished jobs. */
export const finishedOf = (format, jobs) =>
  format === 'wire' ? groupsOf(jobs) : jobs.map((j) => ({ hex: j.hex, lease: j.lease, attempt: j.attempt, startedAt: j.startedAt }));
