// Times and numbers as people read them.

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  return duration(now - Date.parse(iso), true);
}

/** 950 ms, 12 s, 4 min, 3 h 5 min, 2 d. `relative`: "… ago" / "in …". */
export function duration(ms: number, relative = false): string {
  const future = ms < 0;
  const a = Math.abs(ms);
  let s: string;
  if (a < 1000) s = relative ? 'just now' : `${Math.round(a)} ms`;
  else if (a < 60_000) s = `${Math.floor(a / 1000)} s`;
  else if (a < 3_600_000) s = `${Math.floor(a / 60_000)} min`;
  else if (a < 86_400_000) s = `${Math.floor(a / 3_600_000)} h ${Math.floor((a % 3_600_000) / 60_000)} min`;
  else s = `${Math.floor(a / 86_400_000)} d ${Math.floor((a % 86_400_000) / 3_600_000)} h`;
  if (!relative || s === 'just now') return s;
  return future ? `in ${s}` : `${s} ago`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** 12 %, 2.5 %, and "< 0.1 %" for a rate above zero that would round to it. */
export function percent(x: number | null): string {
  if (x === null) return '—';
  if (x > 0 && x < 0.001) return '< 0.1 %';
  return `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)} %`;
}

export function count(n: number): string {
  return n.toLocaleString();
}

/** The random tail of a UUIDv7 (its head is the creation time, the same for a whole batch). */
export function shortId(id: string): string {
  return id.length > 13 ? `…${id.slice(-12)}` : id;
}

export function json(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}
