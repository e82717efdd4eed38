import type { Issue } from '../errors.js';

/**
 * Which events a webhook subscription receives. A subscription belongs to a tenant and sees only
 * that tenant's events; it is scoped to the whole tenant, one queue, or one job; and it names the
 * event types it wants (`job.succeeded`, `job.*`), or none for all of them.
 */

/** Every event type a subscription may name, `<noun>.<type>` as in the envelope's `docket.<noun>.<type>`. */
export const WEBHOOK_EVENT_TYPES = [
  'job.submitted',
  'job.scheduled',
  'job.ready',
  'job.started',
  'job.progress',
  'job.retrying',
  'job.blocked',
  'job.succeeded',
  'job.failed',
  'job.cancelled',
  'job.expired',
  'job.deduplicated',
  'dependency.waiting',
  'dependency.released',
  'dependency.upstream-failed',
  'worker.registered',
  'worker.heartbeat-lost',
  'worker.deregistered',
  'worker.status',
  'alert.firing',
  'alert.resolved',
] as const;

const NOUNS = new Set(WEBHOOK_EVENT_TYPES.map((t) => t.split('.')[0]!));

/** Where a subscription listens: a whole tenant, one queue of it, or one job. */
export type WebhookScope = { kind: 'tenant' } | { kind: 'queue'; queue: string } | { kind: 'job'; jobId: string };

/** What matching needs of a subscription. */
export interface MatchableSubscription {
  tenant: string;
  scope: WebhookScope;
  /** Normalized names (`job.succeeded`, `job.*`); empty: every type. */
  events: readonly string[];
}

/** What matching needs of a logged event. */
export interface MatchableEvent {
  topic: string;
  key: string;
  tenant: string;
  type: string;
  data: { [key: string]: unknown };
}

/** `job-events` + `succeeded` → `job.succeeded`. */
export function eventTypeOf(topic: string, type: string): string {
  const noun = topic.endsWith('-events') ? topic.slice(0, -'-events'.length) : topic;
  return `${noun}.${type}`;
}

/**
 * Checks and normalizes the requested event types: `docket.job.succeeded` is accepted for
 * `job.succeeded`, `*` means all (an empty list). Unknown names are issues at `/events/<i>`, so a
 * typo (`job.success`) is a 400 rather than a subscription that never fires.
 */
export function normalizeEventTypes(requested: readonly string[]): { events: string[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const events = new Set<string>();
  requested.forEach((raw, i) => {
    const name = raw.startsWith('docket.') ? raw.slice('docket.'.length) : raw;
    if (name === '*') return;
    const [noun, type] = name.split('.', 2);
    const known = (WEBHOOK_EVENT_TYPES as readonly string[]).includes(name) || (type === '*' && noun !== undefined && NOUNS.has(noun) && name === `${noun}.*`);
    if (!known) issues.push({ path: `/events/${i}`, message: `"${raw}" is not an event type; use one of ${WEBHOOK_EVENT_TYPES.join(', ')}, a "<noun>.*" wildcard, or "*"` });
    else events.add(name);
  });
  // "*" anywhere means everything: the list is then empty.
  if (requested.some((r) => r === '*' || r === 'docket.*')) return { events: [], issues };
  return { events: [...events], issues };
}

export function matchesType(events: readonly string[], eventType: string): boolean {
  if (events.length === 0) return true;
  const noun = eventType.slice(0, eventType.indexOf('.'));
  return events.includes(eventType) || events.includes(`${noun}.*`);
}

/** Whether `event` goes to `sub`: its tenant, inside its scope, of a type it asked for. */
export function matches(sub: MatchableSubscription, event: MatchableEvent): boolean {
  if (sub.tenant !== event.tenant) return false;
  if (!inScope(sub.scope, event)) return false;
  return matchesType(sub.events, eventTypeOf(event.topic, event.type));
}

function inScope(scope: WebhookScope, event: MatchableEvent): boolean {
  switch (scope.kind) {
    case 'tenant':
      return true;
    case 'queue':
      return event.data.queue === scope.queue;
    case 'job':
      // Job and dependency events are keyed by the job id and carry it as data.jobId.
      return event.data.jobId === scope.jobId || (event.topic !== 'worker-events' && event.key === scope.jobId);
  }
}

/**
 * Subscriptions indexed for matching a batch of events: per tenant, the tenant-wide ones, per queue
 * and per job. With many job-scoped subscriptions (a callback per job), an event is matched against
 * its own job's few, not against all.
 */
export class SubscriptionIndex<S extends MatchableSubscription> {
  private readonly byTenant = new Map<string, { all: S[]; queues: Map<string, S[]>; jobs: Map<string, S[]> }>();

  constructor(subs: readonly S[]) {
    for (const s of subs) {
      let t = this.byTenant.get(s.tenant);
      if (!t) this.byTenant.set(s.tenant, (t = { all: [], queues: new Map(), jobs: new Map() }));
      if (s.scope.kind === 'tenant') t.all.push(s);
      else if (s.scope.kind === 'queue') push(t.queues, s.scope.queue, s);
      else push(t.jobs, s.scope.jobId, s);
    }
  }

  get size(): number {
    return this.byTenant.size;
  }

  /** The subscriptions `event` goes to, in the order they were given. */
  match(event: MatchableEvent): S[] {
    const t = this.byTenant.get(event.tenant);
    if (!t) return [];
    const candidates = [...t.all];
    if (typeof event.data.queue === 'string') candidates.push(...(t.queues.get(event.data.queue) ?? []));
    const jobId = typeof event.data.jobId === 'string' ? event.data.jobId : event.key;
    candidates.push(...(t.jobs.get(jobId) ?? []));
    return candidates.filter((s) => matches(s, event));
  }
}

function push<S>(map: Map<string, S[]>, key: string, s: S): void {
  const list = map.get(key);
  if (list) list.push(s);
  else map.set(key, [s]);
}
