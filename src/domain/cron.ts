import { Cron } from 'croner';
import { ValidationError, type Issue } from './errors.js';

/**
 * Cron expressions in an IANA time zone, through croner (no dependencies, DST-aware, checked
 * against a hand-written table of fire times in test/cron-dst.test.ts).
 *
 * Accepted: 5 fields (minute hour day-of-month month day-of-week), 6 fields (seconds first), and
 * the nicknames @yearly @annually @monthly @weekly @daily @midnight @hourly. Day-of-month and
 * day-of-week combine with OR, as in Vixie cron.
 *
 * DST, as croner does it (Vixie cron's rules):
 * - a fixed-time job (one value in each of seconds, minutes, hours, e.g. `30 2 * * *`) whose time
 *   falls in the spring-forward gap runs once, at the first valid time after the gap, the same day
 *   (Europe/Berlin 2026-03-29: 03:00 CEST, as the clocks jump from 02:00 to 03:00);
 * - a fixed-time job whose time occurs twice on fall-back day runs once, at the first occurrence;
 * - an interval job (`*`, steps, ranges or lists in the time fields, e.g. `*\/30 * * * *`) follows
 *   real time: it skips the times the gap removes and runs in both passes of a repeated hour.
 */
export interface CronBounds {
  /** No fire before this instant (epoch ms). */
  startAt: number | null;
  /** No fire after this instant (a fire exactly at endAt happens). */
  endAt: number | null;
}

const NO_BOUNDS: CronBounds = { startAt: null, endAt: null };

const EXPRESSION_RULE =
  '5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or @yearly, @monthly, @weekly, @daily, @hourly';

export class CronPlan {
  private readonly cron: Cron;

  private constructor(
    readonly expression: string,
    readonly timezone: string,
    readonly bounds: CronBounds,
  ) {
    this.cron = new Cron(expression, { timezone, paused: true, mode: '5-or-6-parts' });
  }

  /**
   * Parses and checks an expression and a time zone; throws ValidationError naming `/cron` or
   * `/timezone` (prefixed with `basePath`).
   */
  static parse(expression: string, timezone: string, bounds: CronBounds = NO_BOUNDS, basePath = ''): CronPlan {
    const issues: Issue[] = [];
    if (!isTimeZone(timezone)) {
      issues.push({ path: `${basePath}/timezone`, message: `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)` });
    }
    const cronIssue = checkExpression(expression);
    if (cronIssue) issues.push({ path: `${basePath}/cron`, message: cronIssue });
    if (issues.length > 0) throw new ValidationError(issues);
    const plan = new CronPlan(expression.trim(), timezone, bounds);
    // Feb 30 and the like parse but never fire: refused, since nothing would ever run.
    if (plan.cron.nextRun(new Date(0)) === null) {
      throw new ValidationError([{ path: `${basePath}/cron`, message: `"${expression}" matches no time at all (e.g. 30 February)` }]);
    }
    return plan;
  }

  /** The first fire strictly after `t` (epoch ms) within the bounds, or null when there is none. */
  nextAfter(t: number): number | null {
    const from = this.bounds.startAt !== null ? Math.max(t, this.bounds.startAt - 1) : t;
    const next = this.cron.nextRun(new Date(from));
    if (!next) return null;
    const at = next.getTime();
    return this.bounds.endAt !== null && at > this.bounds.endAt ? null : at;
  }

  /** Up to `n` fires strictly after `t`, oldest first. */
  next(n: number, t: number): number[] {
    const out: number[] = [];
    let at: number | null = t;
    while (out.length < n && (at = this.nextAfter(at)) !== null) out.push(at);
    return out;
  }

  /** Up to `n` fires strictly before `t` within the bounds, newest first. */
  previousBefore(t: number, n: number): number[] {
    const to = this.bounds.endAt !== null ? Math.min(t, this.bounds.endAt + 1) : t;
    return this.cron
      .previousRuns(n, new Date(to))
      .map((d) => d.getTime())
      .filter((at) => this.bounds.startAt === null || at >= this.bounds.startAt);
  }
}

/** Whether `zone` is an IANA zone name this runtime knows (fixed offsets like +01:00 are not). */
export function isTimeZone(zone: string): boolean {
  if (!/^[A-Za-z]/.test(zone) || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why `expression` is refused, or null when croner takes it. */
function checkExpression(expression: string): string | null {
  if (expression.trim() === '') return `empty: give ${EXPRESSION_RULE}`;
  // Counted here: croner's own message allows seven fields, which mode 5-or-6-parts refuses.
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.trim().startsWith('@') && fields !== 5 && fields !== 6) return `"${expression}" has ${fields} field${fields === 1 ? '' : 's'}; give ${EXPRESSION_RULE}`;
  try {
    new Cron(expression, { paused: true, mode: '5-or-6-parts' });
    return null;
  } catch (err) {
    const why = (err as Error).message.replace(/^Cron\w*:\s*/, '');
    return `"${expression}" is not a valid cron expression: ${why}; give ${EXPRESSION_RULE}`;
  }
}

/**
 * An instant as local time in `zone` with its offset, e.g. 2026-03-29T03:00:00+02:00: what a
 * person checking a preview around a DST change wants to read.
 */
export function localIso(at: number, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMin = Math.round((wall - Math.floor(at / 1000) * 1000) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}
