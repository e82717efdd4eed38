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
