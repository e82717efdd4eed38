import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { Card, Confirm, Empty, Link, Loading, PageHeader, Pager, ProblemBox, Time } from '../components';
import { shortId } from '../format';
import { useAction, useApi, useLiveRefresh, useTick } from '../hooks';
import { navigate, useLocation } from '../router';
import { can, isAdmin } from '../session';
import type { JobPage } from '../types';

const FILTERS = ['queue', 'type', 'error', 'tenant'] as const;
type Act = { verb: 'requeue' | 'purge'; ids: string[] | null };

/** Failed jobs (the dead-letter set): filter, then requeue with a fresh attempt budget or purge, after a confirmation. */
export function DeadLetters() {
  const { params } = useLocation();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [cursors, setCursors] = useState<string[]>([]);
  const list = useApi<JobPage>(`/v1/dead-letters${query({ ...filter, limit: 25, cursor: cursors[cursors.length - 1] })}`);
  useLiveRefresh(list.reload, (e) => e.type === 'docket.job.failed' || e.data.previousState === 'failed');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [act, setAct] = useState<Act | null>(null);
  const [done, setDone] = useState('');
  const action = useAction();
  const now = useTick(5000);
  const jobs = list.data?.jobs ?? [];
  const manage = can('manage-dead-letters');

  const toggle = (id: string) => setSelected((s) => (s.has(id) ? new Set([...s].filter((x) => x !== id)) : new Set([...s, id])));
  const selection = (a: Act) => (a.ids ? { ids: a.ids } : { filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) });

  async function perform(a: Act) {
    const ok = await action.run(async () => {
      const reply = await api<{ requeued?: number; purged?: number }>('POST', `/v1/dead-letters/${a.verb}`, selection(a));
      setDone(a.verb === 'requeue' ? `${reply.requeued} job(s) requeued.` : `${reply.purged} job(s) purged.`);
    });
    setAct(null);
    if (ok) {
      setSelected(new Set());
      await list.reload();
    }
  }

  function apply(e: Event) {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setCursors([]);
    setSelected(new Set());
    navigate(`/dead-letters${query(Object.fromEntries(FILTERS.map((f) => [f, String(form.get(f) ?? '').trim()])))}`);
  }

  const filtered = FILTERS.some((f) => filter[f]);
  return (
    <>
      <PageHeader title="Dead letters" subtitle={`${isAdmin() ? 'Every tenant\'s jobs' : 'Jobs'} that ended failed: out of attempts, a permanent error, or abandoned.`}>
        {manage && selected.size > 0 && (
          <>
            <button class="btn btn-primary" onClick={() => setAct({ verb: 'requeue', ids: [...selected] })} data-testid="requeue-selected">
              Requeue {selected.size}
            </button>
            <button class="btn btn-danger" onClick={() => setAct({ verb: 'purge', ids: [...selected] })}>
              Purge {selected.size}
            </button>
          </>
        )}
        {manage && selected.size === 0 && jobs.length > 0 && (
          <>
            <button class="btn" onClick={() => setAct({ verb: 'requeue', ids: null })}>
              Requeue all{filtered ? ' matching' : ''}
            </button>
            <button class="btn btn-danger-outline" onClick={() => setAct({ verb: 'purge', ids: null })}>
              Purge all{filtered ? ' matching' : ''}
            </button>
          </>
        )}
      </PageHeader>
      {done && (
        <div class="notice" role="status">
          {done}{' '}
          <button class="link" onClick={() => setDone('')}>
            dismiss
          </button>
        </div>
      )}
      <ProblemBox problem={action.problem} onClose={action.clear} />
      {act && (
        <Confirm
          title={act.verb === 'requeue' ? 'Requeue dead letters?' : 'Purge dead letters?'}
          confirm={act.verb === 'requeue' ? 'Requeue' : 'Purge for good'}
          danger={act.verb === 'purge'}
          busy={action.busy}
          onCancel={() => setAct(null)}
          onConfirm={() => perform(act)}
        >
          {act.ids ? `${act.ids.length} selected job(s)` : filtered ? 'Every dead letter matching the filter' : 'Every dead letter you may see'}
          {act.verb === 'requeue' ? ' go back to the queue with a fresh attempt budget; their error history stays.' : ' will be deleted with their history. This cannot be undone.'}
        </Confirm>
      )}
      <Card>
        <form class="filters" onSubmit={apply} key={params.toString()}>
          <input name="queue" placeholder="queue" value={filter.queue} />
          <input name="type" placeholder="type" value={filter.type} />
          <input name="error" placeholder="error text contains…" value={filter.error} class="wide" />
          {isAdmin() && <input name="tenant" placeholder="tenant" value={filter.tenant} />}
          <button class="btn btn-primary" type="submit">
            Filter
          </button>
        </form>
        <ProblemBox problem={list.problem} />
        {list.loading && !list.data ? (
          <Loading />
        ) : jobs.length === 0 ? (
          <Empty title="No dead letters">{filtered ? 'None matches the filter.' : 'Every job either finished or is still on its way.'}</Empty>
        ) : (
          <table class="table" data-testid="dead-letters-table">
            <thead>
              <tr>
                {manage && (
                  <th class="check">
                    <input
                      type="checkbox"
                      aria-label="select all on this page"
                      checked={jobs.every((j) => selected.has(j.id))}
                      onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(jobs.map((j) => j.id)) : new Set())}
                    />
                  </th>
                )}
                <th>Job</th>
                {isAdmin() && <th>Tenant</th>}
                <th>Type</th>
                <th>Queue</th>
                <th>Reason</th>
                <th class="num">Attempts</th>
                <th>Last error</th>
                <th>Failed</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => {
                const last = j.errors[j.errors.length - 1];
                return (
                  <tr key={j.id} data-job-id={j.id}>
                    {manage && (
                      <td class="check">
                        <input type="checkbox" aria-label={`select ${j.id}`} checked={selected.has(j.id)} onChange={() => toggle(j.id)} />
                      </td>
                    )}
                    <td class="mono">
                      <Link href={`/jobs/${j.id}`}>{shortId(j.id)}</Link>
                    </td>
                    {isAdmin() && <td data-testid="tenant-cell">{j.tenant}</td>}
                    <td>{j.type}</td>
                    <td>{j.queue}</td>
                    <td>
                      <span class="muted">{j.stateReason ?? '—'}</span>
                    </td>
                    <td class="num">{j.attempt}</td>
                    <td class="error-text clip" title={last?.message}>
                      {last?.code && <code>{last.code}</code>} {last?.message ?? '—'}
                    </td>
                    <td>
                      <Time iso={j.finishedAt} now={now} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {list.data && <Pager cursors={cursors} next={list.data.nextCursor} onPage={(c) => (setCursors(c), setSelected(new Set()))} />}
      </Card>
    </>
  );
}
