import type { Static } from '@sinclair/typebox';
import type { PreviewInput, ScheduleInput, SchedulePatch } from '../domain/schedule.js';
import type { FiresReply, PreviewReply, ScheduleListReply, ScheduleViewType } from '../interfaces/http/schedule-schemas.js';

export type { PreviewInput, ScheduleInput, SchedulePatch };
export type ScheduleInfo = ScheduleViewType;
export type SchedulePageView = Static<typeof ScheduleListReply>;
export type SchedulePreview = Static<typeof PreviewReply>;
export type ScheduleFireInfo = Static<typeof FiresReply>['fires'][number];

/** What the client calls requests through: DocketClient.request. */
interface Requester {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

const enc = encodeURIComponent;

/**
 * The /v1/schedules endpoints (docs/schedules.md), as `client.schedules`:
 *
 *   await client.schedules.preview({ cron: '30 2 * * *', timezone: 'Europe/Berlin', count: 3 });
 *   const s = await client.schedules.create({ name: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin', job: { type: 'report' } });
 */
export class SchedulesClient {
  constructor(private readonly api: Requester) {}

  /** Creates a schedule of the caller's tenant; a bad expression or zone is a 400 naming /cron or /timezone. */
  create(input: ScheduleInput): Promise<ScheduleInfo> {
    return this.api.request('POST', '/v1/schedules', input);
  }

  /** The next fire times of an expression in a zone, before saving anything. */
  preview(input: PreviewInput): Promise<SchedulePreview> {
    return this.api.request('POST', '/v1/schedules/preview', input);
  }

  /** Oldest first. Pass `nextCursor` back as `cursor` for the next page. */
  list(options: { limit?: number; cursor?: string; tenant?: string } = {}): Promise<SchedulePageView> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options)) if (value !== undefined) query.set(key, String(value));
    const qs = query.toString();
    return this.api.request('GET', `/v1/schedules${qs ? `?${qs}` : ''}`);
  }

  /** One schedule, with its next fire times in `upcoming`. */
  get(id: string): Promise<ScheduleInfo> {
    return this.api.request('GET', `/v1/schedules/${enc(id)}`);
  }

  /** Changes the given fields; null clears startAt or endAt. A new expression or zone plans from now. */
  update(id: string, patch: SchedulePatch): Promise<ScheduleInfo> {
    return this.api.request('PATCH', `/v1/schedules/${enc(id)}`, patch);
  }

  /** Deletes the schedule; the jobs it submitted stay. */
  async delete(id: string): Promise<void> {
    await this.api.request('DELETE', `/v1/schedules/${enc(id)}`);
  }

  pause(id: string): Promise<ScheduleInfo> {
    return this.api.request('POST', `/v1/schedules/${enc(id)}/pause`);
  }

  /** Resumes from now: fires missed while paused are not caught up. */
  resume(id: string): Promise<ScheduleInfo> {
    return this.api.request('POST', `/v1/schedules/${enc(id)}/resume`);
  }

  /** What became of the latest fire times (fired with a job, or skipped for overlap), newest first. */
  async fires(id: string, limit?: number): Promise<ScheduleFireInfo[]> {
    const qs = limit === undefined ? '' : `?limit=${limit}`;
    return (await this.api.request<Static<typeof FiresReply>>('GET', `/v1/schedules/${enc(id)}/fires${qs}`)).fires;
  }
}
