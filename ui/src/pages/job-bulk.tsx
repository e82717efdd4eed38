import { useState } from 'preact/hooks';
import { api } from '../api';
import { Confirm, ProblemBox } from '../components';
import { useAction } from '../hooks';

type Verb = 'cancel' | 'retry' | 'delete';
type Reply = { action: Verb; matched: number; applied: number; ids: string[] };

const WHAT: Record<Verb, { button: string; done: string; applies: string; effect: string }> = {
  cancel: { button: 'Cancel', done: 'cancelled', applies: 'that have not finished', effect: 'They will not run (running ones are told to stop).' },
  retry: { button: 'Retry', done: 'retried', applies: 'that failed', effect: 'They go back to the queue in place: the same ids, a fresh attempt budget, their errors kept.' },
  delete: { button: 'Delete', done: 'deleted', applies: 'that have finished', effect: 'They are deleted with their history and logs. This cannot be undone.' },
};

/**
 * Cancel, retry in place or delete the selected jobs, or every job matching the filter: the server
 * first counts what the action applies to (a dry run), and the confirmation says how many.
 */
export function BulkActions({ selected, filter, onDone }: { selected: string[]; filter: Record<string, string>; onDone: () => void }) {
  const action = useAction();
  const [pending, setPending] = useState<{ verb: Verb; matched: number } | null>(null);
  const [notice, setNotice] = useState('');
  const selection = selected.length > 0 ? { ids: selected } : { filter };
  const scope = selected.length > 0 ? `${selected.length} selected` : 'all matching';

  async function ask(verb: Verb) {
    setNotice('');
    await action.run(async () => {
      const { matched } = await api<Reply>('POST', '/v1/jobs/actions', { action: verb, ...selection, dryRun: true });
      setPending({ verb, matched });
    });
  }

  async function perform(verb: Verb) {
    const ok = await action.run(async () => {
      const reply = await api<Reply>('POST', '/v1/jobs/actions', { action: verb, ...selection });
      setNotice(`${reply.applied} job${reply.applied === 1 ? '' : 's'} ${WHAT[verb].done}.`);
    });
    setPending(null);
    if (ok) onDone();
  }

  return (
    <>
      <div class="bulk" data-testid="bulk">
        <span class="small muted">{selected.length > 0 ? `${selected.length} selected:` : 'Every job matching the filter:'}</span>
        {(['cancel', 'retry', 'delete'] as const).map((verb) => (
          <button key={verb} class={`btn btn-small ${verb === 'delete' ? 'btn-danger-outline' : ''}`} disabled={action.busy} onClick={() => ask(verb)} data-testid={`bulk-${verb}`}>
            {WHAT[verb].button} {scope}
          </button>
        ))}
        {notice && (
          <span class="small" role="status" data-testid="bulk-notice">
            {notice}
          </span>
        )}
      </div>
      <ProblemBox problem={action.problem} onClose={action.clear} />
      {pending && (
        <Confirm
          title={pending.matched === 0 ? `Nothing to ${pending.verb}` : `${WHAT[pending.verb].button} ${pending.matched} job${pending.matched === 1 ? '' : 's'}?`}
          confirm={pending.matched === 0 ? 'Close' : `${WHAT[pending.verb].button} ${pending.matched}`}
          danger={pending.verb !== 'retry'}
          busy={action.busy}
          onCancel={() => setPending(null)}
          onConfirm={() => (pending.matched === 0 ? setPending(null) : perform(pending.verb))}
        >
          <span data-testid="bulk-count">
            {pending.matched} job{pending.matched === 1 ? '' : 's'} of the {selected.length > 0 ? 'selection' : 'filter'} {WHAT[pending.verb].applies}.
          </span>{' '}
          {pending.matched > 0 && WHAT[pending.verb].effect}
        </Confirm>
      )}
    </>
  );
}
