import { useState } from 'preact/hooks';
import { api } from '../api';
import { TenantSelect, Badge, Card, Confirm, Empty, Link, Loading, PageHeader, ProblemBox, Time } from '../components';
import { count, duration } from '../format';
import { useAction, useApi, useLiveRefresh, useTick } from '../hooks';
import { can, isAdmin } from '../session';
import type { Condition } from '../types';

type Verb = 'release' | 'drain' | 'fail';
const EXPLAIN: Record<Verb, string> = {
  release: 'Treat the condition as cleared: parked jobs go back to the queue at the throttled, ramping rate.',
  drain: 'Close the condition and send every parked job back to the queue at once.',
  fail: 'Close the condition and fail every parked job (they become dead letters).',
};

/** 0.5/s, 12/s, 4,000/s: a release rate as the policy states it. */
function rate(perSecond: number): string {
  return `${perSecond < 10 ? Number(perSecond.toFixed(2)) : count(Math.round(perSecond))}/s`;
}

/** Recovery conditions: the shared causes jobs are parked (blocked) under, and the operator's hand on them. */
export function Conditions() {
  const list = useApi<{ conditions: Condition[] }>('/v1/conditions');
  useLiveRefresh(list.reload, (e) => e.type === 'docket.job.blocked' || e.data.previousState === 'blocked', 500, 5000);
  const [act, setAct] = useState<{ key: string; verb: Verb } | null>(null);
  const action = useAction();
  const now = useTick(1000);
  const manage = can('manage-recovery');
  const admin = isAdmin();
  const [tenant, setTenant] = useState('');
  const tenants = [...new Set((list.data?.conditions ?? []).flatMap((c) => c.parked.map((p) => p.tenant)))].sort();
  // An admin may look at one tenant: its parked jobs only, and the conditions holding some.
  const conditions = (list.data?.conditions ?? [])
    .map((c) => (tenant ? { ...c, parked: c.parked.filter((p) => p.tenant === tenant) } : c))
    .filter((c) => !tenant || c.parked.length > 0);

  return (
    <>
      <PageHeader
        title="Blocked conditions"
        subtitle={`Jobs parked because a shared dependency (a downstream service) is failing; ${admin ? 'parked jobs of every tenant, by tenant and queue' : 'the counts are your tenant\'s'}. A probe tests it now and then.`}
      >
        {admin && tenants.length > 0 && <TenantSelect tenants={tenants} value={tenant} onChange={setTenant} testId="conditions-tenant" />}
      </PageHeader>
      <ProblemBox problem={action.problem ?? list.problem} onClose={action.clear} />
      {act && (
        <Confirm
          title={`${act.verb[0]!.toUpperCase()}${act.verb.slice(1)} ${act.key}?`}
          confirm={act.verb[0]!.toUpperCase() + act.verb.slice(1)}
          danger={act.verb === 'fail'}
          busy={action.busy}
          onCancel={() => setAct(null)}
          onConfirm={async () => {
            await action.run(() => api('POST', `/v1/conditions/${encodeURIComponent(act.key)}/${act.verb}`));
            setAct(null);
            await list.reload();
          }}
        >
          {EXPLAIN[act.verb]}
        </Confirm>
      )}
      {list.loading && !list.data ? (
        <Loading />
      ) : conditions.length === 0 && !list.problem ? (
        <Empty title="No blocked condition">When a handler reports a transient failure of a known condition (say service:payments-api), its jobs park here instead of retrying one by one.</Empty>
      ) : (
        <Card>
          <table class="table" data-testid="conditions-table">
            <thead>
              <tr>
                <th>Condition</th>
                <th>Status</th>
                <th class="num">Parked</th>
                <th>{admin ? 'Tenant · queue' : 'Queues'}</th>
                <th class="num">Failures</th>
                <th>Last seen</th>
                {manage && <th />}
              </tr>
            </thead>
            <tbody>
              {conditions.map((c) => (
                <tr key={c.key}>
                  <td class="wrap">
                    <b>{c.key}</b>
                    <div class="error-text small clip-block" title={c.lastError}>
                      {c.lastError}
                    </div>
                  </td>
                  <td>
                    <Badge value={c.status} />
                    <div class="muted small">
                      {c.status === 'open' && (
                        <>
                          next probe <Time iso={c.nextProbeAt} now={now} />
                        </>
                      )}
                      {c.status === 'probing' && 'a probe job is out'}
                      {c.status === 'releasing' && (
                        <span data-testid="release-outlook">
                          {count(c.released)} released, {rate(c.releaseRate)} now
                          {c.releaseEtaSeconds !== null && (c.releaseEtaSeconds > 0 ? `, about ${duration(c.releaseEtaSeconds * 1000)} left` : ', almost done')}
                        </span>
                      )}
                    </div>
                  </td>
                  <td class="num">{count(tenant ? c.parked.reduce((n, p) => n + p.count, 0) : c.parkedTotal)}</td>
                  <td class="wrap">
                    {c.parked.map((p) => (
                      <span key={p.queue + p.tenant} class="tag" title={`tenant ${p.tenant}, queue ${p.queue}`} data-testid="parked-tag">
                        {admin && <b>{p.tenant} · </b>}
                        <Link href={`/jobs?queue=${encodeURIComponent(p.queue)}&state=blocked${admin ? `&tenant=${encodeURIComponent(p.tenant)}` : ''}`}>{p.queue}</Link> {p.count}
                      </span>
                    ))}
                  </td>
                  <td class="num">{count(c.failures)}</td>
                  <td>
                    <Time iso={c.lastSeenAt} now={now} />
                  </td>
                  {manage && (
                    <td class="row-actions">
                      <button class="btn btn-small" onClick={() => setAct({ key: c.key, verb: 'release' })}>
                        Release
                      </button>
                      <button class="btn btn-small" onClick={() => setAct({ key: c.key, verb: 'drain' })}>
                        Drain
                      </button>
                      <button class="btn btn-small btn-danger-outline" onClick={() => setAct({ key: c.key, verb: 'fail' })}>
                        Fail
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          {!manage && <p class="muted small pad">Release, drain and fail are for admins.</p>}
        </Card>
      )}
    </>
  );
}
