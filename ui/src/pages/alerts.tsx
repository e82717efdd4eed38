import { Badge, Card, Empty, Loading, PageHeader, ProblemBox, Time } from '../components';
import { dateTime } from '../format';
import { useApi, useTick } from '../hooks';
import type { Alert } from '../types';

/** Alerts from GET /v1/alerts (rules on queue depth, failure rate, age…), firing first. */
export function Alerts() {
  const list = useApi<{ alerts: Alert[] }>('/v1/alerts');
  const now = useTick(5000);
  const alerts = [...(list.data?.alerts ?? [])].sort((a, b) => (a.state === b.state ? b.firedAt.localeCompare(a.firedAt) : a.state === 'firing' ? -1 : 1));
  const firing = alerts.filter((a) => a.state === 'firing').length;

  return (
    <>
      <PageHeader title="Alerts" subtitle={list.data ? `${firing} firing, ${alerts.length - firing} resolved` : 'Alert rules evaluated by the server.'} />
      {list.problem?.status === 404 ? (
        <>
          <Empty title="Alerts are not available on this server">This Docket version has no alert rules yet (GET /v1/alerts answered 404).</Empty>
          <ProblemBox problem={list.problem} />
        </>
      ) : (
        <ProblemBox problem={list.problem} />
      )}
      {list.loading && !list.data && !list.problem ? (
        <Loading />
      ) : (
        list.data &&
        (alerts.length === 0 ? (
          <Card>
            <Empty title="No alert">No alert rule has fired. Firing and resolved alerts show here as the server evaluates its rules.</Empty>
          </Card>
        ) : (
          <Card>
            <table class="table" data-testid="alerts-table">
              <thead>
                <tr>
                  <th>State</th>
                  <th>Rule</th>
                  <th>Queue</th>
                  <th>Message</th>
                  <th class="num">Value / threshold</th>
                  <th>Fired</th>
                  <th>Resolved</th>
                </tr>
              </thead>
              <tbody>
                {alerts.map((a) => (
                  <tr key={a.id}>
                    <td>
                      <Badge value={a.state} />
                    </td>
                    <td>
                      <b>{a.rule}</b> <span class="muted small">{a.kind}</span>
                    </td>
                    <td>{a.queue ?? <span class="muted">all</span>}</td>
                    <td class="wrap">{a.message}</td>
                    <td class="num">
                      {a.value} / {a.threshold}
                    </td>
                    <td title={dateTime(a.firedAt)}>
                      <Time iso={a.firedAt} now={now} />
                    </td>
                    <td>{a.resolvedAt ? <Time iso={a.resolvedAt} now={now} /> : <span class="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        ))
      )}
    </>
  );
}
