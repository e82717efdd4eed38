// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every line must be a
// HELP, a TYPE or a sample of a family declared before it; anything else fails the test.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*",?)*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;

function number(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Prometheus parses floats with Go's ParseFloat, which takes NaN in any case; prom-client writes
  // `Nan` (e.g. the event-loop lag mean before its first sample).
  if (text.toLowerCase() === 'nan') return NaN;
  const n = Number(text);
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(n)) throw new Error(`not a number in: ${line}`);
  return n;
}

/** Parses an exposition; throws naming the first line that is not valid. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = HELP.exec(line))) {
      if (families.has(m[1]!)) throw new Error(`family ${m[1]} declared twice`);
      current = { name: m[1]!, help: m[2]!, type: 'untyped', samples: [] };
      families.set(current.name, current);
    } else if ((m = TYPE.exec(line))) {
      if (!current || current.name !== m[1]) throw new Error(`TYPE without its HELP: ${line}`);
      current.type = m[2] as Family['type'];
    } else if ((m = SAMPLE.exec(line))) {
      const name = m[1]!;
      const base = current?.type === 'histogram' || current?.type === 'summary' ? name.replace(/_(bucket|sum|count)$/, '') : name;
      if (!current || base !== current.name) throw new Error(`sample outside its family: ${line}`);
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      current.samples.push({ name, labels, value: number(m[3]!, line) });
    } else {
      throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return families;
}

/** The value of the sample `name` whose labels include `labels`; undefined when none. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

/**
 * The exposition rules a scrape must keep that Prometheus' own linter (`promtool check metrics`,
 * 2.42) does not check: each family has HELP and TYPE, counters end in `_total`, no series is
 * given twice, and each histogram's buckets are cumulative, end at `+Inf` and agree with `_count`.
 * Parses strictly first (parseExposition: names `[a-zA-Z_:][a-zA-Z0-9_:]*`, samples inside their
 * family). Returns the problems found, one line each; none is a pass.
 */
export function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  const families = parseExposition(text);
  const seen = new Set<string>();
  for (const f of families.values()) {
    if (f.help.trim() === '') problems.push(`${f.name}: no HELP text`);
    if (f.type === 'untyped') problems.push(`${f.name}: no TYPE line`);
    if (f.type === 'counter' && !f.name.endsWith('_total')) problems.push(`${f.name}: a counter whose name does not end in _total`);
    for (const s of f.samples) {
      const key = seriesKey(s);
      if (seen.has(key)) problems.push(`${key}: the same series twice`);
      seen.add(key);
    }
    if (f.type === 'histogram') problems.push(...histogramProblems(f));
  }
  return problems;
}

/** `name{a="1",b="2"}`, labels sorted: one series' identity. */
export function seriesKey(s: Sample): string {
  const labels = Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${s.name}{${labels.join(',')}}`;
}

function histogramProblems(f: Family): string[] {
  const problems: string[] = [];
  const buckets = new Map<string, { le: number; value: number }[]>();
  const counts = new Map<string, number>();
  const sums = new Set<string>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) problems.push(`${seriesKey(s)}: a bucket without le`);
      else buckets.set(key, [...(buckets.get(key) ?? []), { le: le === '+Inf' ? Infinity : Number(le), value: s.value }]);
    } else if (s.name === `${f.name}_count`) counts.set(key, s.value);
    else if (s.name === `${f.name}_sum`) sums.add(key);
    else problems.push(`${s.name}: not a histogram sample of ${f.name}`);
  }
  for (const [key, list] of buckets) {
    const sorted = [...list].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.value < sorted[i - 1]!.value) problems.push(`${f.name}${key}: bucket le=${sorted[i]!.le} (${sorted[i]!.value}) below le=${sorted[i - 1]!.le} (${sorted[i - 1]!.value}): not cumulative`);
    }
    const inf = sorted.at(-1);
    if (inf?.le !== Infinity) problems.push(`${f.name}${key}: no +Inf bucket`);
    else if (inf.value !== counts.get(key)) problems.push(`${f.name}${key}: +Inf bucket ${inf.value} but _count ${counts.get(key)}`);
    if (!sums.has(key)) problems.push(`${f.name}${key}: no _sum`);
  }
  for (const key of counts.keys()) if (!buckets.has(key)) problems.push(`${f.name}${key}: a _count without buckets`);
  return problems;
}
