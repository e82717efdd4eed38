import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { startLive, stopLive } from './events';
import { Layout } from './layout';
import { navigate, useLocation } from './router';
import { onSession, session } from './session';
import { SignIn } from './pages/sign-in';
import { Overview } from './pages/overview';
import { Jobs } from './pages/jobs';
import { JobPage } from './pages/job';
import { DeadLetters } from './pages/dead-letters';
import { Conditions } from './pages/conditions';
import { Schedules } from './pages/schedules';
import { Workers } from './pages/workers';
import { Templates } from './pages/templates';
import { Alerts } from './pages/alerts';
import { Empty, Link } from './components';
import './styles.css';

function page(path: string) {
  const [, top, id] = path.split('/');
  switch (top) {
    case '':
      return <Overview />;
    case 'jobs':
      return id ? <JobPage id={decodeURIComponent(id)} /> : <Jobs />;
    case 'dead-letters':
      return <DeadLetters />;
    case 'conditions':
      return <Conditions />;
    case 'schedules':
      return <Schedules />;
    case 'workers':
      return <Workers />;
    case 'templates':
      return <Templates />;
    case 'alerts':
      return <Alerts />;
    default:
      return (
        <Empty title="No such page">
          <Link href="/">Back to the overview</Link>
        </Empty>
      );
  }
}

const TITLES: Record<string, string> = {
  '': 'Overview',
  'sign-in': 'Sign in',
  jobs: 'Jobs',
  'dead-letters': 'Dead letters',
  conditions: 'Conditions',
  schedules: 'Schedules',
  workers: 'Workers',
  templates: 'Templates',
  alerts: 'Alerts',
};

function App() {
  const { path } = useLocation();
  const [, top = '', id] = path.split('/');
  document.title = `${id && top === 'jobs' ? `Job …${id.slice(-12)}` : (TITLES[top] ?? 'Not found')} · Docket`;
  const [signedIn, setSignedIn] = useState(session() !== null);
  useEffect(() => {
    setSignedIn(session() !== null);
    return onSession(() => setSignedIn(session() !== null));
  }, []);
  useEffect(() => {
    if (signedIn) startLive();
    else stopLive();
  }, [signedIn]);
  useEffect(() => {
    if (!signedIn && path !== '/sign-in') navigate(`/sign-in${path === '/' ? '' : `?next=${encodeURIComponent(path + location.search)}`}`, true);
  }, [signedIn, path]);

  if (!signedIn || path === '/sign-in') return <SignIn />;
  return <Layout path={path}>{page(path)}</Layout>;
}

render(<App />, document.getElementById('app')!);
