import { useState } from 'preact/hooks';
import { query } from '../api';
import { Badge, Card, Empty, Link, Loading, PageHeader, Pager, ProblemBox, Time } from '../components';
import { shortId } from '../format';
import { useApi, useLiveRefresh, useTick } from '../hooks';
import { navigate, useLocation } from '../router';
import { can, isAdmin } from '../session';
import { BulkActions } from './job-bulk';
import { JOB_STATES, type Job, type JobPage } from '../types';

const FILTERS = ['queue', 'state', 'type', 'linkId', 'label', 'payload', 'templateId', 'tenant'] as const;

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
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = (id: string) => setSelected((s) => (s.has(id) ? new Set([...s].filter((x) => x !== id)) : new Set([...s, id])));
  const admin = isAdmin();

  function open(e: Event) {
    e.preventDefault();
    const id = String(new FormData(e.target as HTMLFormElement).get('id') ?? '').trim();
    if (id) navigate(`/jobs/${encodeURIComponent(id)}`);
  }

  function apply(e: Event) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setCursors([]);
    setSelected(new Set());
    navigate(`/jobs${query(Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '').trim()])))}`);
  }

  return (
    <>
      <PageHeader title="Jobs" subtitle={admin ? 'Every tenant\'s jobs, newest first. Filters combine; the list follows changes live.' : 'Your tenant\'s jobs, newest first. Filters combine; the list follows changes live.'} />
      <Card>
        <form class="search" onSubmit={open}>
          <input name="id" placeholder="Open a job by its id" aria-label="job id" />
          <button class="btn" type="submit">
            Open
          </button>
        </form>
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
          <input name="payload" placeholder="payload field path=value" value={filter.payload} class="wide" title="a payload field by its dotted path, e.g. customer.id=42 (strings and numbers)" />
          <input name="templateId" placeholder="template" value={filter.templateId} />
          {admin && <input name="tenant" placeholder="tenant" value={filter.tenant} />}
          <button class="btn btn-primary" type="submit">
            Filter
          </button>
          {FILTERS.some((f) => filter[f]) && (
            <button class="btn" type="button" onClick={() => (setCursors([]), navigate('/jobs'))}>
              Clear
            </button>
          )}
        </form>
        {can('cancel') && jobs.data && jobs.data.jobs.length > 0 && (
          <BulkActions selected={[...selected]} filter={Object.fromEntries(Object.entries(filter).filter(([, v]) => v))} onDone={() => (setSelected(new Set()), jobs.reload())} />
        )}
        <ProblemBox problem={jobs.problem} />
        {jobs.loading && !jobs.data ? (
          <Loading />
        ) : jobs.data && jobs.data.jobs.length === 0 ? (
          <Empty title="No job matches">Change the filter, or submit a job.</Empty>
        ) : (
          jobs.data && <JobTable jobs={jobs.data.jobs} now={now} tenant={admin} {...(can('cancel') ? { select: { selected, toggle, all: (on: boolean) => setSelected(on ? new Set(jobs.data!.jobs.map((j) => j.id)) : new Set()) } } : {})} />
        )}
        {jobs.data && <Pager cursors={cursors} next={jobs.data.nextCursor} onPage={(c) => (setCursors(c), setSelected(new Set()))} />}
      </Card>
    </>
  );
}

export function JobTable({ jobs, now, select, tenant }: { jobs: Job[]; now: number; tenant?: boolean; select?: { selected: Set<string>; toggle: (id: string) => void; all?: (on: boolean) => void } }) {
  return (
    <table class="table" data-testid="jobs-table">
      <thead>
        <tr>
          {select && (
            <th class="check">
              {select.all && <input type="checkbox" aria-label="select all on this page" checked={jobs.length > 0 && jobs.every((j) => select.selected.has(j.id))} onChange={(e) => select.all!((e.target as HTMLInputElement).checked)} />}
            </th>
          )}
          <th>Job</th>
          {tenant && <th>Tenant</th>}
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
            {tenant && <td data-testid="tenant-cell">{j.tenant}</td>}
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
