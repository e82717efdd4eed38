import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Badge, Card, Confirm, Empty, Link, Loading, PageHeader, ProblemBox, Time } from '../components';
import { readStream } from '../events';
import { dateTime, duration, json, shortId } from '../format';
import { useAction, useApi, useLiveRefresh, useTick } from '../hooks';
import { navigate } from '../router';
import { can } from '../session';
import { FINISHED, type DocketEvent, type Job, type JobState } from '../types';
import { DependencyGraph } from './job-graph';
import { LogsPanel } from './job-logs';
import { JsonView } from '../json-view';
import { Progress } from './jobs';

type Dependencies = {
  dependencies: { id: string; type: string | null; state: JobState | null }[];
  dependents: { id: string; state: JobState }[];
  onDependencyFailure: string | null;
};

/** One job: what it is, where it stands, what happened to it (its events), and what you can do. */
export function JobPage({ id }: { id: string }) {
  const job = useApi<Job>(`/v1/jobs/${encodeURIComponent(id)}`);
  const deps = useApi<Dependencies>(`/v1/jobs/${encodeURIComponent(id)}/dependencies`);
  const timeline = useTimeline(id);
  const dependentTypes = useTypes(deps.data?.dependents.map((d) => d.id) ?? []);
  useLiveRefresh(
    () => Promise.all([job.reload(), deps.reload()]),
    (e) => e.subject === id || e.data.jobId === id,
    150,
  );
  const action = useAction();
  const [confirm, setConfirm] = useState<'cancel' | null>(null);
  const now = useTick(1000);

  if (job.loading && !job.data) return <Loading />;
  if (!job.data)
    return (
      <>
        <PageHeader title={`Job ${shortId(id)}`} />
        <ProblemBox problem={job.problem} />
        <Link href="/jobs">← All jobs</Link>
      </>
    );
  const j = job.data;
  const finished = FINISHED.includes(j.state);
  const steps = stepsOf(j);

  return (
    <>
      <PageHeader
        title={
          <>
            {j.type} <Badge value={j.state} title={j.stateReason ?? undefined} />
          </>
        }
        subtitle={
          <>
            <span class="mono">{j.id}</span> · queue <Link href={`/jobs?queue=${encodeURIComponent(j.queue)}`}>{j.queue}</Link> · tenant {j.tenant}
          </>
        }
      >
        {!finished && can('cancel') && (
          <button class="btn btn-danger" onClick={() => setConfirm('cancel')} data-testid="cancel-job">
            Cancel job
          </button>
        )}
        {j.state === 'failed' && can('manage-dead-letters') && (
          <button class="btn btn-primary" disabled={action.busy} onClick={() => action.run(() => api('POST', `/v1/jobs/${j.id}/retry`).then(() => job.reload()))} data-testid="retry-job" title="back to the queue with the same id and a fresh attempt budget">
            Retry
          </button>
        )}
        {finished && can('submit') && (
          <button
            class="btn"
            disabled={action.busy}
            onClick={() => action.run(async () => navigate(`/jobs/${(await api<Job>('POST', `/v1/jobs/${j.id}/resubmit`)).id}`))}
          >
            Resubmit
          </button>
        )}
      </PageHeader>
      <ProblemBox problem={action.problem ?? job.problem} onClose={action.clear} />
      {confirm === 'cancel' && (
        <Confirm
          title="Cancel this job?"
          confirm="Cancel job"
          danger
          busy={action.busy}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            const ok = await action.run(() => api('POST', `/v1/jobs/${j.id}/cancel`));
            setConfirm(null);
            if (ok) await job.reload();
          }}
        >
          {j.state === 'running' ? 'Its handler is told to stop (its AbortSignal fires).' : 'It will not run.'} A cancelled job can be resubmitted later.
        </Confirm>
      )}

      <div class="job-grid">
        <Card title="Details">
          <dl class="facts">
            <dt>State</dt>
            <dd>
              <Badge value={j.state} /> {j.stateReason && <span class="muted">{j.stateReason}</span>}
            </dd>
            <dt>Progress</dt>
            <dd>{j.progress ? <Progress percent={j.progress.percent} message={j.progress.message} /> : <span class="muted">—</span>} {j.progress?.message && <span class="muted">{j.progress.message}</span>}</dd>
            <dt>Attempt</dt>
            <dd>
              {j.attempt} of {j.maxAttempts}
            </dd>
            <dt>Priority</dt>
            <dd>{j.priority}</dd>
            <dt>Due</dt>
            <dd title={dateTime(j.runAt)}>
              <Time iso={j.runAt} now={now} />
            </dd>
            <dt>Created</dt>
            <dd>{dateTime(j.createdAt)}</dd>
            <dt>Started</dt>
            <dd>{dateTime(j.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>
              {dateTime(j.finishedAt)}
              {j.finishedAt && j.startedAt && <span class="muted"> · ran {duration(Date.parse(j.finishedAt) - Date.parse(j.startedAt))}</span>}
            </dd>
            {j.workerId && (
              <>
                <dt>Worker</dt>
                <dd class="mono">{j.workerId}</dd>
              </>
            )}
            {j.condition && (
              <>
                <dt>Condition</dt>
                <dd>
                  <Link href="/conditions">{j.condition}</Link>
                </dd>
              </>
            )}
            {j.timeoutMs !== null && (
              <>
                <dt>Timeout</dt>
                <dd>{duration(j.timeoutMs)}</dd>
              </>
            )}
            {j.expiresAt && (
              <>
                <dt>Expires</dt>
                <dd>{dateTime(j.expiresAt)}</dd>
              </>
            )}
            <dt>Link</dt>
            <dd>
              <Link href={`/jobs?linkId=${encodeURIComponent(j.linkId)}`}>{shortId(j.linkId)}</Link>
              {j.resubmittedFrom && (
                <>
                  {' '}
                  · resubmitted from <Link href={`/jobs/${j.resubmittedFrom}`}>{shortId(j.resubmittedFrom)}</Link>
                </>
              )}
            </dd>
            {j.templateId && (
              <>
                <dt>Template</dt>
                <dd>
                  {j.templateId} v{j.templateVersion}
                </dd>
              </>
            )}
            {Object.keys(j.labels).length > 0 && (
              <>
                <dt>Labels</dt>
                <dd>
                  {Object.entries(j.labels).map(([k, v]) => (
                    <span class="tag" key={k}>
                      {k}={v}
                    </span>
                  ))}
                </dd>
              </>
            )}
          </dl>
        </Card>
        <Card title="Timeline" class="timeline-card">
          <Timeline events={timeline.events} problem={timeline.problem} />
        </Card>
      </div>

      {steps && (
        <Card title={`Steps (${steps.length})`}>
          <ol class="steps">
            {steps.map((s, i) => (
              <li key={i} class={`step step-${s.status}`}>
                <Badge value={s.status} /> <b>{s.type}</b> <code class="inline">{json(s.payload ?? {})}</code>
              </li>
            ))}
          </ol>
        </Card>
      )}

      {j.errors.length > 0 && (
        <Card title={`Attempts and errors (${j.errors.length})`}>
          <table class="table">
            <thead>
              <tr>
                <th class="num">Attempt</th>
                <th>When</th>
                <th>Code</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {j.errors.map((e, i) => (
                <tr key={i}>
                  <td class="num">{e.attempt}</td>
                  <td>{dateTime(e.at)}</td>
                  <td>{e.code ? <code>{e.code}</code> : <span class="muted">—</span>}</td>
                  <td class="error-text">{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <details class="json-details">
            <summary>Errors as JSON</summary>
            <JsonView value={j.errors} label="errors" />
          </details>
        </Card>
      )}

      <LogsPanel jobId={j.id} attempts={j.attempt} />

      {deps.data && (deps.data.dependencies.length > 0 || deps.data.dependents.length > 0) && (
        <Card title="Dependencies" actions={deps.data.onDependencyFailure && <span class="muted small">on a failed dependency: {deps.data.onDependencyFailure}</span>}>
          <DependencyGraph
            job={{ id: j.id, state: j.state, label: j.type }}
            dependencies={deps.data.dependencies.map((d) => ({ id: d.id, state: d.state, label: d.type ?? '(deleted)' }))}
            dependents={deps.data.dependents.map((d) => ({ id: d.id, state: d.state, label: dependentTypes[d.id] ?? 'dependent' }))}
          />
        </Card>
      )}

      <div class="two">
        <Card title="Payload">
          <JsonView value={j.payload} label="payload" />
        </Card>
        <Card title="Result">{j.result === undefined ? <p class="muted">{j.state === 'succeeded' ? 'No result.' : finished ? `No result: the job ended ${j.state}.` : 'None yet: the result appears when the job succeeds.'}</p> : <JsonView value={j.result} label="result" />}</Card>
      </div>
    </>
  );
}

function stepsOf(j: Job): { type: string; payload: unknown; status: string }[] | null {
  const raw = (j.payload as { $steps?: { type: string; payload?: unknown }[] } | null)?.$steps;
  if (!Array.isArray(raw)) return null;
  const done = Array.isArray(j.result) ? j.result.length : 0;
  return raw.map((s, i) => ({
    type: s.type,
    payload: s.payload,
    status: i < done || j.state === 'succeeded' ? 'succeeded' : i === done ? (j.state === 'running' ? 'running' : j.state === 'failed' ? 'failed' : 'pending') : 'pending',
  }));
}

/** The types of a few jobs (the dependents, which the dependencies route names by id only). */
function useTypes(ids: string[]): Record<string, string> {
  const [types, setTypes] = useState<Record<string, string>>({});
  const key = ids.slice(0, 12).join(',');
  useEffect(() => {
    if (!key) return;
    let live = true;
    void Promise.all(key.split(',').map((id) => api<Job>('GET', `/v1/jobs/${id}`).then((j) => [id, j.type] as const, () => [id, 'dependent'] as const))).then((pairs) => {
      if (live) setTypes(Object.fromEntries(pairs));
    });
    return () => {
      live = false;
    };
  }, [key]);
  return types;
}

/** The job's events: replayed from the log (`lastEventId=0`), then live. */
function useTimeline(id: string) {
  const [events, setEvents] = useState<DocketEvent[]>([]);
  const [problem, setProblem] = useState<{ title: string; status: number; detail: string } | null>(null);
  useEffect(() => {
    setEvents([]);
    setProblem(null);
    const controller = new AbortController();
    void readStream(
      `/v1/events/stream?jobId=${encodeURIComponent(id)}&lastEventId=0`,
      { onEvent: (e) => setEvents((list) => (list.some((x) => x.id === e.id) ? list : [...list, e])), onProblem: setProblem },
      controller.signal,
    );
    return () => controller.abort();
  }, [id]);
  return { events, problem };
}

/** Events whose `reason` says why they happened (on others it is the job's earlier reason). */
const REASONED = new Set(['ready', 'retrying', 'failed', 'cancelled', 'expired']);

const VERB: Record<string, string> = {
  submitted: 'Submitted',
  scheduled: 'Scheduled',
  ready: 'Ready',
  started: 'Started',
  progress: 'Progress',
  retrying: 'Retrying',
  blocked: 'Blocked',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  expired: 'Expired',
  deduplicated: 'Deduplicated',
  waiting: 'Waiting for dependencies',
  released: 'Dependencies done',
  'upstream-failed': 'A dependency failed',
};

/** Newest first; a run of progress reports shows as its latest one (×n). */
function collapsed(events: DocketEvent[]): { e: DocketEvent; repeats: number }[] {
  const out: { e: DocketEvent; repeats: number }[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if (last && e.type === 'docket.job.progress' && last.e.type === e.type) out[out.length - 1] = { e, repeats: last.repeats + 1 };
    else out.push({ e, repeats: 1 });
  }
  return out.reverse();
}

function Timeline({ events, problem }: { events: DocketEvent[]; problem: { title: string; status: number; detail: string } | null }) {
  if (problem) return <ProblemBox problem={problem} />;
  if (events.length === 0) return <Empty title="No events yet">Events older than the log's retention (24 h) are gone.</Empty>;
  return (
    <ol class="timeline" data-testid="timeline">
      {collapsed(events).map(({ e, repeats }) => {
        const kind = e.type.split('.').pop() ?? e.type;
        const d = e.data;
        return (
          <li key={e.id} class={`tl tl-${d.state ?? kind}`}>
            <span class="tl-dot" />
            <div class="tl-body">
              <div class="tl-head">
                <b>
                  {VERB[kind] ?? kind}
                  {repeats > 1 && <span class="muted small"> ×{repeats}</span>}
                </b>
                <span class="muted small" title={dateTime(e.time)}>
                  {new Date(e.time).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}
                </span>
              </div>
              <div class="tl-detail">
                {kind === 'started' && d.workerId && <>attempt {d.attempt} on {d.workerId}</>}
                {kind === 'progress' && d.progress && (
                  <>
                    {Math.round(d.progress.percent)}% {d.progress.message}
                  </>
                )}
                {d.error && <span class="error-text">{d.error}</span>}
                {d.reason && REASONED.has(kind) && <span class="muted"> {d.reason}</span>}
                {d.condition && <> under {d.condition}</>}
              </div>
            </div>
          </li>
        );
      })}
    </ol>
  );
}
