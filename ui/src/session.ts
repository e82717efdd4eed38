// The signed-in token: kept in sessionStorage (gone when the tab closes), never in localStorage.

const KEY = 'docket.token';

export interface Session {
  token: string;
  tenant: string;
  roles: string[];
  subject: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

let current: Session | null = load();
const listeners = new Set<() => void>();

/** Reads the claims the dashboard shows; the server checks the signature on every call. */
export function decode(token: string): Session | string {
  const part = token.split('.')[1];
  if (!part) return 'this is not a JWT (three parts separated by dots)';
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims = JSON.parse(json) as { tenant?: unknown; roles?: unknown; sub?: unknown; exp?: unknown };
    if (typeof claims.tenant !== 'string' || !Array.isArray(claims.roles)) return 'the token has no tenant or roles claim';
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : Infinity;
    if (expiresAt <= Date.now()) return `the token expired at ${new Date(expiresAt).toLocaleString()}`;
    return { token, tenant: claims.tenant, roles: claims.roles.map(String), subject: String(claims.sub ?? ''), expiresAt };
  } catch {
    return 'the token could not be read (malformed base64 or JSON)';
  }
}

function load(): Session | null {
  const token = sessionStorage.getItem(KEY);
  if (!token) return null;
  const s = decode(token);
  return typeof s === 'string' ? null : s;
}

export function session(): Session | null {
  return current;
}

export function signIn(s: Session): void {
  sessionStorage.setItem(KEY, s.token);
  current = s;
  listeners.forEach((l) => l());
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
  current = null;
  listeners.forEach((l) => l());
}

export function onSession(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An admin sees every tenant: lists show a tenant column and filter. */
export function isAdmin(): boolean {
  return current?.roles.includes('admin') ?? false;
}

export function can(what: 'submit' | 'cancel' | 'manage-dead-letters' | 'manage-recovery' | 'manage-schedules' | 'read-workers'): boolean {
  const roles = current?.roles ?? [];
  if (roles.includes('admin')) return true;
  switch (what) {
    case 'submit':
    case 'cancel':
    case 'manage-dead-letters':
    case 'manage-schedules':
      return roles.includes('submitter');
    case 'manage-recovery':
      return false;
    case 'read-workers':
      return roles.includes('viewer') || roles.includes('worker');
  }
}
