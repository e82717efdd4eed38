import { useState } from 'preact/hooks';
import { query } from '../api';
import { Badge, Card, Empty, Link, Loading, PageHeader, Pager, ProblemBox, Time } from '../components';
import { shortId } from '../format';
import { useApi, useLiveRefresh, useTick } from '../hooks';
import { navigate, useLocation } from '../router';
import { session } from '../session';
import { JOB_STATES, type Job, type JobPage } from '../types';

const FILTERS = ['queue', 'state', 'type', 'linkId', 'label', 'templateId', 'tenant'] as const;

/** Jobs, newest first, filtered as GET /v1/jobs allows; the filter lives in the address (shareable). */
export function Jobs() {
  const { params } = useLocation();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const path = `/v1/jobs${query({ ...filter, limit: 25, cursor })}`;
  const jobs = useApi<JobPage>(path);
  useLiveRefresh(jobs.reload, (e) => e.type.startsWith('docket.job.') && (!filter.queue || e.data.queue === filter.queue));
  const now = useTick(5000);

  function apply(e: Event) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setCursors([]);
    navigate(`/jobs${query(Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '').trim()])))}`);
  }

  return (
    <>
      <PageHeader title="Jobs" subtitle="Newest first. Filters combine; the list follows changes live." />
      <Card>
        <form class="filters" onSubmit={apply} key={params.toString()}>
          <input name="queue" placeholder="queue" value={filter.queue} />
          <select name="state" value={filter.state}>
            <option value="">any state</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <input name="type" placeholder="type" value={filter.type} />
          <input name="linkId" placeholder="link id" value={filter.linkId} />
          <input name="label" placeholder="label name=value" value={filter.label} />
          <input name="templateId" placeholder="template" value={filter.templateId} />
          {session()?.roles.includes('admin') && <input name="tenant" placeholder="tenant (admins)" value={filter.tenant} />}
          <button class="btn btn-primary" type="submit">
            Filter
          </button>
          {FILTERS.some((f) => filter[f]) && (
            <button class="btn" type="button" onClick={() => (setCursors([]), navigate('/jobs'))}>
              Clear
            </button>
          )}
        </form>
        <ProblemBox problem={jobs.problem} />
        {jobs.loading && !jobs.data ? <Loading /> : jobs.data && jobs.data.jobs.length === 0 ? <Empty title="No job matches">Change the filter, or submit a job.</Empty> : jobs.data && <JobTable jobs={jobs.data.jobs} now={now} />}
        {jobs.data && <Pager cursors={cursors} next={jobs.data.nextCursor} onPage={setCursors} />}
      </Card>
    </>
  );
}

export function JobTable({ jobs, now, select }: { jobs: Job[]; now: number; select?: { selected: Set<string>; toggle: (id: string) => void } }) {
  return (
    <table class="table" data-testid="jobs-table">
      <thead>
        <tr>
          {select && <th class="check" />}
          <th>Job</th>
          <th>Type</th>
          <th>Queue</th>
          <th>State</th>
          <th class="num">Priority</th>
          <th class="num">Attempt</th>
          <th>Progress</th>
          <th>Created</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id} data-job-id={j.id} data-state={j.state}>
            {select && (
              <td class="check">
                <input type="checkbox" aria-label={`select ${j.id}`} checked={select.selected.has(j.id)} onChange={() => select.toggle(j.id)} />
              </td>
            )}
            <td class="mono">
              <Link href={`/jobs/${j.id}`}>{shortId(j.id)}</Link>
            </td>
            <td>{j.type}</td>
            <td>{j.queue}</td>
            <td>
              <Badge value={j.state} title={j.stateReason ?? undefined} />
            </td>
            <td class="num">{j.priority}</td>
            <td class="num">
              {j.attempt}/{j.maxAttempts}
            </td>
            <td>{j.progress ? <Progress percent={j.progress.percent} /> : <span class="muted">—</span>}</td>
            <td>
              <Time iso={j.createdAt} now={now} />
            </td>
            <td>
              <Time iso={j.updatedAt} now={now} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Progress({ percent, message }: { percent: number; message?: string | undefined }) {
  return (
    <span class="progress" title={message}>
      <span class="progress-bar">
        <span style={{ width: `${Math.min(100, Math.max(0, percent))}%` }} />
      </span>
      <span class="progress-text">{Math.round(percent)}%</span>
    </span>
  );
}
