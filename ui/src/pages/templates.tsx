import { useState } from 'preact/hooks';
import { query } from '../api';
import { Badge, Card, Empty, Link, Loading, PageHeader, Pager, ProblemBox, Time } from '../components';
import { json } from '../format';
import { useApi, useTick } from '../hooks';
import type { Template } from '../types';

/** Job templates: server-stored, versioned job defaults. */
export function Templates() {
  const [cursors, setCursors] = useState<string[]>([]);
  const list = useApi<{ templates: Template[]; nextCursor: string | null }>(`/v1/templates${query({ limit: 50, cursor: cursors[cursors.length - 1] })}`);
  const [open, setOpen] = useState<string | null>(null);
  const now = useTick(10_000);
  const templates = list.data?.templates ?? [];

  return (
    <>
      <PageHeader title="Templates" subtitle="Versioned job defaults: submit { templateId, payload } and the template fills in the rest." />
      <ProblemBox problem={list.problem} />
      {list.loading && !list.data ? (
        <Loading />
      ) : templates.length === 0 && !list.problem ? (
        <Empty title="No template">
          Create one with <code>docket templates create</code> or <code>POST /v1/templates</code>.
        </Empty>
      ) : (
        <Card>
          <table class="table" data-testid="templates-table">
            <thead>
              <tr>
                <th>Template</th>
                <th class="num">Version</th>
                <th>Description</th>
                <th>Job type</th>
                <th>Status</th>
                <th>Last used</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {templates.map((t) => (
                <>
                  <tr key={t.id}>
                    <td>
                      <button class="link" onClick={() => setOpen(open === t.id ? null : t.id)}>
                        <b>{t.id}</b>
                      </button>
                    </td>
                    <td class="num">v{t.version}</td>
                    <td class="wrap">{t.description ?? <span class="muted">—</span>}</td>
                    <td>{String(t.defaults.type ?? '—')}</td>
                    <td>
                      <Badge value={t.retired ? 'retired' : 'active'} />
                    </td>
                    <td>{t.usedAt ? <Time iso={t.usedAt} now={now} /> : <span class="muted">never</span>}</td>
                    <td>
                      <Time iso={t.updatedAt} now={now} />
                    </td>
                    <td class="row-actions">
                      <Link href={`/jobs?templateId=${encodeURIComponent(t.id)}`} class="btn btn-small">
                        Jobs
                      </Link>
                    </td>
                  </tr>
                  {open === t.id && (
                    <tr key={`${t.id}-defaults`} class="detail-row">
                      <td colSpan={8}>
                        <pre class="code">{json(t.defaults)}</pre>
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
