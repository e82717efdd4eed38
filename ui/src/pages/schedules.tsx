import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { Badge, Card, Empty, Link, Loading, PageHeader, Pager, ProblemBox, Time } from '../components';
import { dateTime } from '../format';
import { useAction, useApi, useLiveRefresh, useTick } from '../hooks';
import { can } from '../session';
import type { Schedule } from '../types';

/** Cron schedules: when each fires next, its last fire, pause and resume. */
export function Schedules() {
  const [cursors, setCursors] = useState<string[]>([]);
  const list = useApi<{ schedules: Schedule[]; nextCursor: string | null }>(`/v1/schedules${query({ limit: 50, cursor: cursors[cursors.length - 1] })}`);
  // No lifecycle event names a schedule: a slow poll keeps next and last fire times current.
  useLiveRefresh(list.reload, () => false, 1000, 15_000);
  const [open, setOpen] = useState<string | null>(null);
  const action = useAction();
  const now = useTick(1000);
  const manage = can('manage-schedules');
  const schedules = list.data?.schedules ?? [];

  const toggle = (s: Schedule) => action.run(async () => {
    await api('POST', `/v1/schedules/${s.id}/${s.paused ? 'resume' : 'pause'}`);
    await list.reload();
  });

  return (
    <>
      <PageHeader title="Schedules" subtitle="Cron schedules of your tenant: each fire submits a job." />
      <ProblemBox problem={action.problem ?? list.problem} onClose={action.clear} />
      {list.loading && !list.data ? (
        <Loading />
      ) : schedules.length === 0 && !list.problem ? (
        <Empty title="No schedule">
          Create one with <code>docket schedules create</code> or <code>POST /v1/schedules</code>.
        </Empty>
      ) : (
        <Card>
          <table class="table" data-testid="schedules-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Cron</th>
                <th>Job</th>
                <th>Status</th>
                <th>Next fire</th>
                <th>Last fire</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {schedules.map((s) => (
                <>
                  <tr key={s.id}>
                    <td>
                      <button class="link" onClick={() => setOpen(open === s.id ? null : s.id)} title="show the next fire times">
                        <b>{s.name}</b>
                      </button>
                    </td>
                    <td>
                      <code>{s.cron}</code> <span class="muted small">{s.timezone}</span>
                    </td>
                    <td>
                      {s.job.type ?? <span class="muted">template</span>} <span class="muted small">on {s.job.queue ?? 'default'}</span>
                    </td>
                    <td>
                      <Badge value={s.paused ? 'paused' : 'active'} />
                    </td>
                    <td title={dateTime(s.nextFireAt)}>{s.nextFireAt ? <Time iso={s.nextFireAt} now={now} /> : <span class="muted">—</span>}</td>
                    <td>
                      {s.lastFireAt ? (
                        <>
                          <Time iso={s.lastFireAt} now={now} /> {s.lastJobId && <Link href={`/jobs/${s.lastJobId}`}>job</Link>}
                        </>
                      ) : (
                        <span class="muted">never</span>
                      )}
                    </td>
                    <td class="row-actions">
                      <Link href={`/jobs?label=${encodeURIComponent(`docket.schedule=${s.id}`)}`} class="btn btn-small">
                        Jobs
                      </Link>
                      {manage && (
                        <button class="btn btn-small" disabled={action.busy} onClick={() => toggle(s)}>
                          {s.paused ? 'Resume' : 'Pause'}
                        </button>
                      )}
                    </td>
                  </tr>
                  {open === s.id && (
                    <tr key={`${s.id}-next`} class="detail-row">
                      <td colSpan={7}>
                        <Upcoming id={s.id} />
                      </td>
                    </tr>
                  )}
                </>
              ))}
            </tbody>
          </table>
          {list.data && <Pager cursors={cursors} next={list.data.nextCursor} onPage={setCursors} />}
        </Card>
      )}
    </>
  );
}

function Upcoming({ id }: { id: string }) {
  const one = useApi<Schedule>(`/v1/schedules/${id}`);
  if (one.problem) return <ProblemBox problem={one.problem} />;
  if (!one.data) return <span class="muted">Loading…</span>;
  const fires = one.data.upcoming ?? [];
  return fires.length === 0 ? (
    <span class="muted">No upcoming fire{one.data.paused ? ' while paused' : ''}.</span>
  ) : (
    <div class="upcoming">
      <span class="muted small">Next fires ({one.data.timezone}):</span>
      {fires.map((f) => (
        <span class="tag" key={f.at} title={f.at}>
          {f.local.replace('T', ' ')}
        </span>
      ))}
    </div>
  );
}
