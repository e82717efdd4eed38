import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Problem } from './api';
import { ago, dateTime } from './format';
import { onLink } from './router';

export function Link({ href, children, class: cls }: { href: string; children: ComponentChildren; class?: string }) {
  return (
    <a href={href} onClick={onLink} class={cls}>
      {children}
    </a>
  );
}

/** A state as a colored pill: the same colors on every page. */
export function Badge({ value, title }: { value: string; title?: string }) {
  return (
    <span class={`badge badge-${value}`} title={title}>
      {value}
    </span>
  );
}

/** An API problem as its message (RFC 9457 detail, and each field's error). */
export function ProblemBox({ problem, onClose }: { problem: Problem | null; onClose?: () => void }) {
  if (!problem) return null;
  return (
    <div class="problem" role="alert">
      <div class="problem-title">
        {problem.status ? `${problem.status} · ` : ''}
        {problem.title}
        {onClose && (
          <button class="link close" onClick={onClose} aria-label="dismiss">
            ×
          </button>
        )}
      </div>
      <div class="problem-detail">{problem.detail}</div>
      {problem.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.path}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <div class="empty-title">{title}</div>
      {children && <div class="empty-text">{children}</div>}
    </div>
  );
}

export function Loading() {
  return <div class="loading">Loading…</div>;
}

export function PageHeader({ title, subtitle, children }: { title: ComponentChildren; subtitle?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p class="subtitle">{subtitle}</p>}
      </div>
      {children && <div class="actions">{children}</div>}
    </header>
  );
}

export function Card({ title, children, actions, class: cls }: { title?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls ?? ''}`}>
      {(title || actions) && (
        <div class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="actions">{actions}</div>}
        </div>
      )}
      {children}
    </section>
  );
}

/** A time as "3 min ago", the exact time on hover. */
export function Time({ iso, now }: { iso: string | null | undefined; now?: number }) {
  if (!iso) return <span class="muted">—</span>;
  return (
    <time dateTime={iso} title={dateTime(iso)}>
      {ago(iso, now)}
    </time>
  );
}

/** A yes/no question before an action that cannot be undone. */
export function Confirm({ title, children, confirm, danger, busy, onConfirm, onCancel }: {
  title: string;
  children: ComponentChildren;
  confirm: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  useEffect(() => {
    const key = (e: KeyboardEvent) => e.key === 'Escape' && !busy && onCancel();
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [busy, onCancel]);
  return (
    <div class="modal-backdrop" onClick={onCancel}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} onClick={(e) => e.stopPropagation()}>
        <h2>{title}</h2>
        <div class="modal-body">{children}</div>
        <div class="modal-actions">
          <button class="btn" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button class={`btn ${danger ? 'btn-danger' : 'btn-primary'}`} onClick={onConfirm} disabled={busy} autoFocus>
            {busy ? 'Working…' : confirm}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Cursor pages: the API gives the next cursor; the pages seen so far give "previous". */
export function Pager({ cursors, next, onPage }: { cursors: string[]; next: string | null; onPage: (cursors: string[]) => void }) {
  if (cursors.length === 0 && !next) return null;
  return (
    <div class="pager">
      <button class="btn btn-small" disabled={cursors.length === 0} onClick={() => onPage(cursors.slice(0, -1))}>
        ← Newer
      </button>
      <span class="muted">page {cursors.length + 1}</span>
      <button class="btn btn-small" disabled={!next} onClick={() => next && onPage([...cursors, next])}>
        Older →
      </button>
    </div>
  );
}

export function Stat({ label, value, hint, tone }: { label: string; value: ComponentChildren; hint?: ComponentChildren; tone?: 'good' | 'bad' | 'warn' }) {
  return (
    <div class={`stat ${tone ? `stat-${tone}` : ''}`}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}

/** An admin's tenant filter over a list: every tenant, or one of those the list holds. */
export function TenantSelect({ tenants, value, onChange, testId }: { tenants: string[]; value: string; onChange: (tenant: string) => void; testId: string }) {
  return (
    <select aria-label="tenant" value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)} data-testid={testId}>
      <option value="">every tenant</option>
      {tenants.map((t) => (
        <option key={t} value={t}>
          {t}
        </option>
      ))}
    </select>
  );
}
