import { useState } from 'preact/hooks';
import { ApiError, api, takeSignOutReason, type Problem } from '../api';
import { ProblemBox } from '../components';
import { navigate, useLocation } from '../router';
import { decode, session, signIn, signOut } from '../session';

/** Sign-in: paste a token (`docket token --tenant acme --role viewer`); it is checked against the API first. */
export function SignIn() {
  const { params } = useLocation();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<Problem | null>(() => {
    const reason = takeSignOutReason();
    return reason ? { title: 'Signed out', status: 401, detail: reason } : null;
  });
  const [busy, setBusy] = useState(false);
  const current = session();

  async function submit(e: Event) {
    e.preventDefault();
    const s = decode(token.trim().replace(/^Bearer\s+/i, ''));
    if (typeof s === 'string') return setProblem({ title: 'Not a usable token', status: 0, detail: s });
    setBusy(true);
    signIn(s);
    try {
      await api('GET', '/v1/queues');
      const next = params.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/', true);
    } catch (err) {
      signOut();
      setProblem(err instanceof ApiError ? err.problem : { title: 'Error', status: 0, detail: String(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="signin">
      <form class="signin-card" onSubmit={submit}>
        <div class="brand brand-large">
          <span class="logo">D</span>Docket
        </div>
        <h1>Sign in to the dashboard</h1>
        <p class="muted">
          Paste an API token. You see what its tenant and roles allow. Mint one with <code>docket token --tenant acme --role viewer</code>.
        </p>
        {current && path() === '/sign-in' && (
          <p class="muted">
            Signed in as <b>{current.tenant}</b>. <a href="/" onClick={(e) => (e.preventDefault(), navigate('/'))}>Go to the overview</a>
          </p>
        )}
        <label for="token">Token</label>
        <textarea id="token" name="token" rows={5} spellcheck={false} autoComplete="off" placeholder="eyJhbGciOiJIUzI1NiIs…" value={token} onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)} />
        <ProblemBox problem={problem} />
        <button class="btn btn-primary btn-block" type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        <p class="fine">The token stays in this tab (session storage) and is sent only to this server.</p>
      </form>
    </div>
  );
}

function path() {
  return location.pathname;
}
