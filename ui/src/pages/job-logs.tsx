import { useEffect, useRef, useState } from 'preact/hooks';
import { query } from '../api';
import { Card, Empty, ProblemBox } from '../components';
import { readStream, type LiveStatus } from '../events';
import type { Problem } from '../api';

interface LogLine {
  id: number;
  attempt: number;
  at: string;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  message: string;
  fields?: Record<string, unknown>;
}

/** Lines kept on the page; older ones scroll away (the API still has them: docket logs). */
const SHOWN = 5000;

/**
 * The job's handler log (GET /v1/jobs/:id/logs/stream): every line from the first, then new ones as
 * the handler writes them, until the job finishes. Filters by attempt and least level.
 */
export function LogsPanel({ jobId, attempts }: { jobId: string; attempts: number }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [status, setStatus] = useState<LiveStatus | 'ended'>('connecting');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [level, setLevel] = useState('');
  const [attempt, setAttempt] = useState('');
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setLines([]);
    setProblem(null);
    setStatus('connecting');
    const controller = new AbortController();
    void readStream(
      `/v1/jobs/${encodeURIComponent(jobId)}/logs/stream${query({ level, attempt })}`,
      {
        onEvent: (e) => {
          const data = e as unknown as LogLine | { end: true };
          if ('end' in data) {
            setStatus('ended');
            controller.abort();
          } else setLines((all) => (all.length >= SHOWN ? [...all.slice(all.length - SHOWN + 1), data] : [...all, data]));
        },
        onStatus: (s) => setStatus((was) => (was === 'ended' ? was : s)),
        onProblem: setProblem,
      },
      controller.signal,
    );
    return () => controller.abort();
  }, [jobId, level, attempt]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <Card
      title={`Logs${lines.length > 0 ? ` (${lines.length}${lines.length >= SHOWN ? '+' : ''})` : ''}`}
      actions={
        <span class="log-controls">
          <span class={`log-status log-${status}`} data-testid="logs-status">
            {status === 'ended' ? 'job finished' : status === 'live' ? 'following live' : status === 'connecting' ? 'connecting…' : 'offline'}
          </span>
          <select aria-label="attempt" value={attempt} onChange={(e) => setAttempt((e.target as HTMLSelectElement).value)}>
            <option value="">every attempt</option>
            {Array.from({ length: Math.max(1, attempts) }, (_, i) => (
              <option key={i} value={String(i + 1)}>
                attempt {i + 1}
              </option>
            ))}
          </select>
          <select aria-label="least level" value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value)}>
            <option value="">every level</option>
            {['debug', 'info', 'warn', 'error'].map((l) => (
              <option key={l} value={l}>
                {l} and above
              </option>
            ))}
          </select>
          <label class="small">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> scroll to new lines
          </label>
        </span>
      }
    >
      <ProblemBox problem={problem} />
      {lines.length === 0 && !problem ? (
        <Empty title={status === 'ended' ? 'No log lines' : 'No log lines yet'}>
          Lines the handler writes through <code>ctx.log</code> show here{status === 'ended' ? '; this one wrote none (or they were filtered out).' : ' as it writes them.'}
        </Empty>
      ) : (
        <div class="logs" ref={box} data-testid="logs">
          {lines.map((l) => (
            <div key={l.id} class={`log-line log-${l.level}`} data-level={l.level}>
              <span class="log-time" title={l.at}>
                {new Date(l.at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}
              </span>
              <span class="log-level">{l.level}</span>
              <span class="log-attempt">{l.attempt > 0 ? `#${l.attempt}` : ''}</span>
              <span class="log-message">
                {l.message}
                {l.fields && Object.keys(l.fields).length > 0 && <span class="log-fields"> {JSON.stringify(l.fields)}</span>}
              </span>
            </div>
          ))}
        </div>
      )}
    </Card>
  );
}
