/**
 * The table columns of each kind of result, as `kubectl get` shows them: a few on a terminal, more
 * with `-o wide`. A kind not listed here shows its plain fields.
 */
export interface Column {
  header: string;
  cell(row: Record<string, unknown>): string;
}

type Spec = [header: string, field: string | ((row: Record<string, unknown>) => unknown)];

const count = (state: string) => (r: Record<string, unknown>) => (r.counts as Record<string, number> | undefined)?.[state] ?? 0;

const KINDS: Record<string, { narrow: Spec[]; wide: Spec[] }> = {
  jobs: {
    narrow: [['ID', 'id'], ['TYPE', 'type'], ['QUEUE', 'queue'], ['STATE', 'state'], ['PRIORITY', 'priority'], ['ATTEMPT', (r) => `${r.attempt}/${r.maxAttempts}`], ['AGE', (r) => age(r.createdAt)]],
    wide: [['TENANT', 'tenant'], ['LINK', 'linkId'], ['WORKER', 'workerId'], ['REASON', 'stateReason'], ['ERROR', (r) => (r.errors as { message: string }[] | undefined)?.at(-1)?.message]],
  },
  queues: {
    narrow: [['NAME', 'name'], ['PAUSED', 'paused'], ['READY', count('ready')], ['RUNNING', count('running')], ['SCHEDULED', count('scheduled')], ['RETRYING', count('retrying')], ['FAILED', count('failed')]],
    wide: [['WAITING', count('waiting')], ['BLOCKED', count('blocked')], ['SUCCEEDED', count('succeeded')], ['CANCELLED', count('cancelled')], ['EXPIRED', count('expired')]],
  },
  workers: {
    narrow: [['ID', 'id'], ['NAME', 'name'], ['STATUS', 'status'], ['QUEUES', 'queues'], ['CAPACITY', 'capacity'], ['HEARTBEAT', (r) => age(r.lastHeartbeatAt)]],
    wide: [['TENANT', 'tenant'], ['LABELS', 'labels'], ['REGISTERED', 'registeredAt']],
  },
  conditions: {
    narrow: [['KEY', 'key'], ['STATUS', 'status'], ['PARKED', 'parkedTotal'], ['FAILURES', 'failures'], ['LAST SEEN', (r) => age(r.lastSeenAt)]],
    wide: [['RELEASED', 'released'], ['RATE/S', 'releaseRate'], ['LAST ERROR', 'lastError']],
  },
  schedules: {
    narrow: [['ID', 'id'], ['NAME', 'name'], ['CRON', 'cron'], ['TIMEZONE', 'timezone'], ['PAUSED', 'paused'], ['NEXT', 'nextFireAt']],
    wide: [['TYPE', (r) => (r.job as { type?: string } | undefined)?.type], ['OVERLAP', 'overlap'], ['CATCH-UP', 'catchUp'], ['LAST', 'lastFireAt'], ['LAST JOB', 'lastJobId']],
  },
  templates: {
    narrow: [['ID', 'id'], ['VERSION', 'version'], ['RETIRED', 'retired'], ['DESCRIPTION', 'description']],
    wide: [['TENANT', 'tenant'], ['USED', 'usedAt'], ['UPDATED', 'updatedAt']],
  },
  webhooks: {
    narrow: [['ID', 'id'], ['URL', 'url'], ['EVENTS', 'events'], ['ENABLED', 'enabled'], ['FAILURES', 'consecutiveFailures']],
    wide: [['TENANT', 'tenant'], ['SCOPE', 'scope'], ['QUEUE', 'queue'], ['JOB', 'jobId'], ['DESCRIPTION', 'description']],
  },
  deliveries: {
    narrow: [['ID', 'id'], ['EVENT', 'eventType'], ['STATUS', 'status'], ['ATTEMPTS', 'attempts'], ['CODE', 'lastStatusCode'], ['AGE', (r) => age(r.createdAt)]],
    wide: [['EVENT ID', 'eventId'], ['NEXT', 'nextAttemptAt'], ['ERROR', 'lastError']],
  },
  alerts: {
    narrow: [['RULE', 'rule'], ['STATE', 'state'], ['QUEUE', 'queue'], ['VALUE', 'value'], ['FIRED', (r) => age(r.firedAt)], ['MESSAGE', 'message']],
    wide: [['ID', 'id'], ['KIND', 'kind'], ['THRESHOLD', 'threshold'], ['RESOLVED', 'resolvedAt']],
  },
};

export function columnsOf(kind: string, rows: Record<string, unknown>[], wide: boolean): Column[] {
  const known = KINDS[kind];
  const specs: Spec[] = known ? [...known.narrow, ...(wide ? known.wide : [])] : plainFields(rows, wide);
  return specs.map(([header, field]) => ({ header, cell: (row) => text(typeof field === 'function' ? field(row) : row[field]) }));
}

/** Scalar fields of the rows (the first six unless wide). */
function plainFields(rows: Record<string, unknown>[], wide: boolean): Spec[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => rows.some((r) => r[k] === null || typeof r[k] !== 'object'));
  return (wide ? names : names.slice(0, 6)).map((k) => [k.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(), k]);
}

function text(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.map(String).join(',');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${String(x)}`).join(',') || '-';
  return String(v).replace(/\s+/g, ' ');
}

/** How long ago an ISO time was, as kubectl's AGE column: 45s, 12m, 3h, 5d. */
export function age(iso: unknown, now = Date.now()): string {
  if (typeof iso !== 'string') return '-';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return '-';
  const a = Math.abs(s);
  const v = a < 120 ? `${a}s` : a < 7200 ? `${Math.floor(a / 60)}m` : a < 172_800 ? `${Math.floor(a / 3600)}h` : `${Math.floor(a / 86_400)}d`;
  return s < 0 ? `in ${v}` : v;
}
