import { Badge, Card, Empty, Link, Loading, PageHeader, ProblemBox, Stat } from '../components';
import { TimeChart } from '../chart';
import { count, duration, percent } from '../format';
import { useApi, useLiveRefresh } from '../hooks';
import { JOB_STATES, type JobState, type QueueStats } from '../types';
import { isAdmin } from '../session';

type StatsReply = { since: string; until: string; bucketSeconds: number; queues: QueueStats[] };

const DEPTH_STATES: JobState[] = ['ready', 'running', 'scheduled', 'waiting', 'retrying', 'blocked', 'failed'];

/** Per queue: depth by state, jobs finished and failure rate per minute over the last hour, oldest ready job. */
export function Overview() {
  const stats = useApi<StatsReply>('/v1/queues/stats?minutes=60');
  // At most every 2 s however busy: the depth counts read every job of the tenant.
  useLiveRefresh(stats.reload, (e) => e.type.startsWith('docket.job.'), 2000, 10_000);
  const queues = stats.data?.queues ?? [];
  const total = (s: JobState) => queues.reduce((n, q) => n + q.counts[s], 0);
  const finished = queues.reduce((n, q) => n + q.finished.succeeded + q.finished.failed, 0);
  const failed = queues.reduce((n, q) => n + q.finished.failed, 0);
  const oldest = Math.max(0, ...queues.map((q) => q.oldestReadyAgeMs ?? 0));

  return (
    <>
      <PageHeader title="Overview" subtitle={`${isAdmin() ? 'Queues of every tenant' : 'Queues of your tenant'} over the last hour, updated live.`} />
      <ProblemBox problem={stats.problem} />
      {stats.loading && !stats.data ? (
        <Loading />
      ) : queues.length === 0 && !stats.problem ? (
        <Empty title="No jobs yet">
          Submit one with <code>docket submit echo --payload '{'{"hello":"world"}'}'</code> or <code>POST /v1/jobs</code>; it shows up here at once.
        </Empty>
      ) : (
        stats.data && (
          <>
            <div class="stats">
              <Stat label="Ready" value={count(total('ready'))} hint={oldest > 0 ? `oldest waiting ${duration(oldest)}` : 'none waiting'} tone={oldest > 60_000 ? 'warn' : undefined} />
              <Stat label="Running" value={count(total('running'))} />
              <Stat label="Finished, last hour" value={count(finished)} hint={`${perSecond(finished / 3600)} per second`} />
              <Stat label="Failure rate, last hour" value={percent(finished === 0 ? null : failed / finished)} hint={`${count(failed)} failed`} tone={failureTone(finished === 0 ? null : failed / finished)} />
              <Stat label="Dead letters" value={<Link href="/dead-letters">{count(total('failed'))}</Link>} tone={total('failed') > 0 ? 'bad' : undefined} />
            </div>
            <Card title="Queues">
              <table class="table" data-testid="queue-table">
                <thead>
                  <tr>
                    <th>Queue</th>
                    {DEPTH_STATES.map((s) => (
                      <th key={s} class="num">
                        {s}
                      </th>
                    ))}
                    <th class="num">succeeded</th>
                    <th class="num">oldest ready</th>
                    <th class="num">failure rate</th>
                  </tr>
                </thead>
                <tbody>
                  {queues.map((q) => (
                    <tr key={q.name}>
                      <td>
                        <Link href={`/jobs?queue=${encodeURIComponent(q.name)}`}>
                          <b>{q.name}</b>
                        </Link>{' '}
                        {q.paused && <Badge value="paused" />}
                      </td>
                      {DEPTH_STATES.map((s) => (
                        <td key={s} class={`num ${q.counts[s] === 0 ? 'zero' : ''}`}>
                          <Link href={`/jobs?queue=${encodeURIComponent(q.name)}&state=${s}`}>{count(q.counts[s])}</Link>
                        </td>
                      ))}
                      <td class={`num ${q.counts.succeeded === 0 ? 'zero' : ''}`}>{count(q.counts.succeeded)}</td>
                      <td class="num">{q.oldestReadyAgeMs === null ? <span class="muted">—</span> : duration(q.oldestReadyAgeMs)}</td>
                      <td class={`num rate-${failureTone(q.failureRate) ?? 'none'}`}>{percent(q.failureRate)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Card>
            <div class="grid">
              {queues.map((q) => (
                <QueueCharts key={q.name} q={q} bucketSeconds={stats.data!.bucketSeconds} />
              ))}
            </div>
          </>
        )
      )}
    </>
  );
}

/**
 * The failure rate's colour by its value: green under 1 %, amber under 5 %, red from 5 % (a
 * handful of failures among thousands is not an alarm); none without finished jobs.
 */
export function failureTone(rate: number | null): 'good' | 'warn' | 'bad' | undefined {
  if (rate === null) return undefined;
  return rate < 0.01 ? 'good' : rate < 0.05 ? 'warn' : 'bad';
}

/** 0.02, 3.4, 1,250: a rate per second as people read it. */
function perSecond(v: number): string {
  return v === 0 ? '0' : v < 10 ? Number(v.toPrecision(2)).toString() : count(Math.round(v));
}

function QueueCharts({ q, bucketSeconds }: { q: QueueStats; bucketSeconds: number }) {
  const times = q.series.map((s) => Date.parse(s.at) / 1000);
  const rate = q.series.map((s) => (s.succeeded + s.failed === 0 ? null : s.failed / (s.succeeded + s.failed)));
  const depth = JOB_STATES.filter((s) => q.counts[s] > 0);
  const all = JOB_STATES.reduce((n, s) => n + q.counts[s], 0);
  return (
    <Card title={<>Queue {q.name}</>} actions={<span class="muted small">{count(q.finished.succeeded + q.finished.failed)} finished in the last hour</span>}>
      <div class="depth-bar" title="jobs by state">
        {depth.map((s) => (
          <span key={s} class={`seg seg-${s}`} style={{ flexGrow: q.counts[s] }} title={`${s}: ${q.counts[s]}`} />
        ))}
        {all === 0 && <span class="seg seg-empty" style={{ flexGrow: 1 }} />}
      </div>
      <div class="depth-legend">
        {depth.map((s) => (
          <span key={s}>
            <Badge value={s} /> {count(q.counts[s])}
          </span>
        ))}
      </div>
      <div class="chart-pair">
        <div>
          <div class="chart-title">Throughput (jobs per second, square-root scale)</div>
          <TimeChart
            label={`jobs finished per second in queue ${q.name}`}
            times={times}
            sqrt
            yFormat={perSecond}
            series={[
              { label: 'succeeded', color: '#16a34a', fill: true, values: q.series.map((s) => s.succeeded / bucketSeconds) },
              { label: 'failed', color: '#dc2626', fill: true, values: q.series.map((s) => s.failed / bucketSeconds) },
            ]}
          />
        </div>
        <div>
          <div class="chart-title">Failure rate</div>
          <TimeChart label={`failure rate per minute in queue ${q.name}`} times={times} series={[{ label: 'failed / finished', color: '#ea580c', values: rate }]} yMax={1} yFormat={(v) => `${Math.round(v * 100)}%`} />
        </div>
      </div>
    </Card>
  );
}
