import { v7 as uuidv7 } from 'uuid';
import { CronPlan, localIso } from '../domain/cron.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../domain/job-input.js';
import { patchedSpec, toPreview, toScheduleSpec, type ScheduleRecord, type ScheduleSpec } from '../domain/schedule.js';
import type { Clock } from '../ports/clock.js';
import type { ScheduleFire, SchedulePage, ScheduleStore } from '../ports/schedule-store.js';

/** One fire time of a preview: the instant (UTC) and the wall-clock time in the schedule's zone. */
export interface PreviewFire {
  at: number;
  local: string;
}

/** The plan of a stored schedule: its expression, zone and start and end dates. */
export function planOf(s: Pick<ScheduleRecord, 'cron' | 'timezone' | 'startAt' | 'endAt'>): CronPlan {
  return CronPlan.parse(s.cron, s.timezone, { startAt: s.startAt, endAt: s.endAt });
}

/**
 * Cron schedules: create, read, change, pause, resume, delete, and preview fire times before
 * saving. Firing is the ScheduleFirer's (a leader duty). Every call takes the tenant it acts for;
 * null (admins) sees every tenant.
 */
export class ScheduleService {
  private readonly listeners = new Set<() => void>();
  private readonly limits: InputLimits;

  constructor(
    readonly store: ScheduleStore,
    private readonly clock: Clock,
    options: { limits?: InputLimits } = {},
  ) {
    this.limits = options.limits ?? DEFAULT_INPUT_LIMITS;
  }

  /** Validates and stores a new schedule of `tenant`. Its first fire is the first one after now. */
  async create(input: unknown, tenant: string): Promise<ScheduleRecord> {
    const now = this.clock.now();
    const spec = toScheduleSpec(input, now, this.limits);
    const record: ScheduleRecord = {
      id: uuidv7(),
      tenant,
      ...fieldsOf(spec),
      nextFireAt: spec.plan.nextAfter(now),
      lastFireAt: null,
      lastJobId: null,
      createdAt: now,
      updatedAt: now,
    };
    if ((await this.store.insertSchedule(record)) === 'name_taken') throw nameTaken(spec.name, tenant);
    this.changed();
    return record;
  }

  /** The schedule, if `tenant` (null: any) may see it; another tenant's answers like a missing one. */
  async get(id: string, tenant: string | null): Promise<ScheduleRecord> {
    const s = await this.store.getSchedule(id);
    if (!s || (tenant !== null && s.tenant !== tenant)) throw new NotFoundError('schedule', id);
    return s;
  }

  list(tenant: string | undefined, limit: number, after?: string): Promise<SchedulePage> {
    return this.store.listSchedules(tenant === undefined ? {} : { tenant }, limit, after);
  }

  /**
   * Applies a change. A new expression, zone or start/end date (or a resume) plans the next fire
   * from now: fires missed under the old timing are not caught up.
   */
  async update(id: string, patch: unknown, tenant: string | null): Promise<ScheduleRecord> {
    const current = await this.get(id, tenant);
    const now = this.clock.now();
    const spec = patchedSpec(current, patch, now, this.limits);
    const retimed =
      spec.cron !== current.cron || spec.timezone !== current.timezone || spec.startAt !== current.startAt || spec.endAt !== current.endAt || (current.paused && !spec.paused);
    // Untimed changes write back the next fire as read: should the firer advance it meanwhile, the
    // fires in between are looked at again and find their records (one job per fire still).
    return this.write({ ...current, ...fieldsOf(spec), nextFireAt: retimed ? spec.plan.nextAfter(now) : current.nextFireAt, updatedAt: now });
  }

  /** A paused schedule does not fire; resuming plans the next fire from now (no catch-up of the pause). */
  async setPaused(id: string, paused: boolean, tenant: string | null): Promise<ScheduleRecord> {
    const current = await this.get(id, tenant);
    if (current.paused === paused) return current;
    const now = this.clock.now();
    const nextFireAt = paused ? current.nextFireAt : planOf(current).nextAfter(now);
    return this.write({ ...current, paused, nextFireAt, updatedAt: now });
  }

  /** Deletes a schedule; the jobs it submitted stay. */
  async delete(id: string, tenant: string | null): Promise<void> {
    await this.get(id, tenant);
    if (!(await this.store.deleteSchedule(id))) throw new NotFoundError('schedule', id);
    this.changed();
  }

  /** The next fire times of an expression in a zone, before saving anything. */
  preview(input: unknown): { fires: PreviewFire[]; timezone: string } {
    const { plan, count, from } = toPreview(input, this.clock.now());
    return { fires: plan.next(count, from).map((at) => ({ at, local: localIso(at, plan.timezone) })), timezone: plan.timezone };
  }

  /** The next fire times of a stored schedule (none while paused). */
  upcoming(s: ScheduleRecord, count: number): PreviewFire[] {
    if (s.paused || s.nextFireAt === null) return [];
    const plan = planOf(s);
    return [s.nextFireAt, ...plan.next(count - 1, s.nextFireAt)].map((at) => ({ at, local: localIso(at, s.timezone) }));
  }

  async fires(id: string, tenant: string | null, limit: number): Promise<ScheduleFire[]> {
    await this.get(id, tenant);
    return this.store.listFires(id, limit);
  }

  /** Tells `listener` whenever a schedule is created or changed here (the firer re-plans its sleep). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async write(record: ScheduleRecord): Promise<ScheduleRecord> {
    const result = await this.store.updateSchedule(record);
    if (result === 'name_taken') throw nameTaken(record.name, record.tenant);
    if (result === 'not_found') throw new NotFoundError('schedule', record.id);
    this.changed();
    return record;
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}

function fieldsOf(spec: ScheduleSpec) {
  const { plan: _plan, ...fields } = spec;
  return fields;
}

function nameTaken(name: string, tenant: string): ValidationError {
  return new ValidationError([{ path: '/name', message: `tenant ${tenant} already has a schedule named "${name}"` }]);
}
