import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { liveStatus, onLiveStatus, stopLive, type LiveStatus } from './events';
import { Link } from './components';
import { navigate } from './router';
import { session, signOut } from './session';

const NAV: { href: string; label: string; icon: string }[] = [
  { href: '/', label: 'Overview', icon: 'M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z' },
  { href: '/jobs', label: 'Jobs', icon: 'M4 6h16M4 12h16M4 18h10' },
  { href: '/dead-letters', label: 'Dead letters', icon: 'M12 9v4m0 4h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z' },
  { href: '/conditions', label: 'Conditions', icon: 'M12 2v4m0 12v4M4.9 4.9l2.8 2.8m8.6 8.6 2.8 2.8M2 12h4m12 0h4M4.9 19.1l2.8-2.8m8.6-8.6 2.8-2.8' },
  { href: '/schedules', label: 'Schedules', icon: 'M12 7v5l3 3M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z' },
  { href: '/workers', label: 'Workers', icon: 'M4 5h16v10H4zM8 19h8M12 15v4' },
  { href: '/templates', label: 'Templates', icon: 'M7 3h7l5 5v13H7zM14 3v5h5' },
  { href: '/alerts', label: 'Alerts', icon: 'M18 8a6 6 0 1 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0' },
];

function active(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  const s = session();
  const [live, setLive] = useState<LiveStatus>(liveStatus());
  // Narrow screens: the menu folds away, and closes again on each navigation.
  const [menu, setMenu] = useState(false);
  useEffect(() => setMenu(false), [path]);
  useEffect(() => {
    // Effects run after paint: the status may have moved since the first render read it.
    setLive(liveStatus());
    return onLiveStatus(setLive);
  }, []);
  return (
    <div class="shell">
      <aside class={`sidebar ${menu ? 'open' : ''}`}>
        <Link href="/" class="brand">
          <span class="logo" aria-hidden="true">
            D
          </span>
          Docket
        </Link>
        <button class="menu-toggle" aria-expanded={menu} aria-label="menu" onClick={() => setMenu(!menu)} data-testid="menu-toggle">
          ☰ Menu
        </button>
        <nav>
          {NAV.map((n) => (
            <Link key={n.href} href={n.href} class={`nav-item ${active(n.href, path) ? 'active' : ''}`}>
              <svg viewBox="0 0 24 24" aria-hidden="true">
                <path d={n.icon} />
              </svg>
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="sidebar-foot">
          <a href="/docs" target="_blank" rel="noreferrer">
            API reference ↗
          </a>
        </div>
      </aside>
      <div class="main">
        <div class="topbar">
          <span class={`live live-${live}`} title="live updates from the event stream">
            <span class="dot" />
            {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
          </span>
          <span class="spacer" />
          {s && (
            <span class="who" data-testid="who">
              <span class="tenant">{s.tenant}</span>
              <span class="roles">{s.roles.join(', ')}</span>
            </span>
          )}
          <button
            class="btn btn-small"
            onClick={() => {
              stopLive();
              signOut();
              navigate('/sign-in');
            }}
          >
            Sign out
          </button>
        </div>
        <main class="content">{children}</main>
      </div>
    </div>
  );
}
