import { query } from '../api';
import { TenantSelect, Badge, Card, Empty, Link, Loading, PageHeader, Pager, ProblemBox } from '../components';
import { ago, dateTime, shortId } from '../format';
import { useApi, useLiveRefresh, useTick } from '../hooks';
import type { JobPage, WorkerInfo } from '../types';
import { useState } from 'preact/hooks';
import { isAdmin } from '../session';

/** Every registered worker (remote, `docket server --role worker` and in-process): last heartbeat, status, and the jobs each runs now. */
export function Workers() {
  // A page of up to 500 workers (GET /v1/workers is paged), the next ones through the pager.
  const [cursors, setCursors] = useState<string[]>([]);
  const workers = useApi<{ workers: WorkerInfo[]; nextCursor: string | null }>(`/v1/workers${query({ limit: 500, cursor: cursors[cursors.length - 1] })}`);
  const running = useApi<JobPage>('/v1/jobs?state=running&limit=500');
  useLiveRefresh(
    () => Promise.all([workers.reload(), running.reload()]),
    (e) => e.type.startsWith('docket.worker.') || e.type === 'docket.job.started' || e.data.previousState === 'running',
    500,
    5000,
  );
  const now = useTick(1000);
  const byWorker = new Map<string, string[]>();
  for (const j of running.data?.jobs ?? []) if (j.workerId) byWorker.set(j.workerId, [...(byWorker.get(j.workerId) ?? []), j.id]);
  const admin = isAdmin();
  const [tenant, setTenant] = useState('');
  const all = workers.data?.workers ?? [];
  const tenantOf = (w: WorkerInfo) => w.tenant ?? '(every tenant)';
  const tenants = [...new Set(all.map(tenantOf))].sort();
  const list = tenant ? all.filter((w) => tenantOf(w) === tenant) : all;

  return (
    <>
      <PageHeader
        title="Workers"
        subtitle={`Every worker that registered: remote ones over HTTP, docket server's in-process worker and --role worker processes${admin ? ', of every tenant' : ' of your tenant'}. A worker silent past its heartbeat timeout is lost.`}
      >
        {admin && tenants.length > 1 && <TenantSelect tenants={tenants} value={tenant} onChange={setTenant} testId="workers-tenant" />}
      </PageHeader>
      <ProblemBox problem={workers.problem} />
      {workers.loading && !workers.data ? (
        <Loading />
      ) : list.length === 0 && !workers.problem ? (
        <Empty title="No worker registered">
          Start one with <code>docket worker --url …</code>, or any language over <code>POST /v1/workers</code>.
        </Empty>
      ) : (
        list.length > 0 && (
          <Card>
            <table class="table" data-testid="workers-table">
              <thead>
                <tr>
                  <th>Worker</th>
                  {admin && <th>Tenant</th>}
                  <th>Status</th>
                  <th>Last heartbeat</th>
                  <th>Queues</th>
                  <th class="num">Running / capacity</th>
                  <th>Running jobs</th>
                  <th>Registered</th>
                </tr>
              </thead>
              <tbody>
                {list.map((w) => {
                  const jobs = byWorker.get(w.id) ?? [];
                  const age = now - Date.parse(w.lastHeartbeatAt);
                  return (
                    <tr key={w.id}>
                      <td>
                        <b>{w.name ?? shortId(w.id)}</b>
                        <div class="mono muted small" title={w.id}>
                          {shortId(w.id)}
                        </div>
                      </td>
                      {admin && <td data-testid="tenant-cell">{w.tenant ?? <span class="muted">every tenant</span>}</td>}
                      <td>
                        <Badge value={w.status} />
                      </td>
                      <td class={w.status === 'active' && age > 30_000 ? 'warn-text' : ''} title={dateTime(w.lastHeartbeatAt)}>
                        {ago(w.lastHeartbeatAt, now)}
                      </td>
                      <td>
                        {w.queues.map((q) => (
                          <span class="tag" key={q}>
                            {q}
                          </span>
                        ))}
                      </td>
                      <td class="num">
                        {jobs.length} / {w.capacity}
                      </td>
                      <td class="wrap">
                        {jobs.length === 0 ? (
                          <span class="muted">idle</span>
                        ) : (
                          jobs.slice(0, 3).map((id) => (
                            <Link key={id} href={`/jobs/${id}`} class="tag mono">
                              {shortId(id)}
                            </Link>
                          ))
                        )}
                        {jobs.length > 3 && <span class="muted"> +{jobs.length - 3}</span>}
                      </td>
                      <td title={dateTime(w.registeredAt)}>{ago(w.registeredAt, now)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            {workers.data && <Pager cursors={cursors} next={workers.data.nextCursor} onPage={setCursors} />}
          </Card>
        )
      )}
    </>
  );
}
