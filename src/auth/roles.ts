/**
 * Who may do what. A token carries roles; each API action names the roles allowed to perform it.
 * Roles combine: a token with `submitter` and `viewer` may do what either may.
 */
export const ROLES = ['admin', 'submitter', 'worker', 'viewer', 'cluster-worker'] as const;
export type Role = (typeof ROLES)[number];

export type Action =
  | 'jobs:submit'
  | 'jobs:read'
  | 'jobs:cancel'
  | 'queues:read'
  | 'queues:manage'
  | 'workers:read'
  | 'workers:work'
  | 'deadletters:manage'
  | 'recovery:read'
  | 'recovery:manage'
  | 'metrics:read'
  | 'schedules:read'
  | 'schedules:manage'
  | 'templates:read'
  | 'templates:manage'
  | 'events:read'
  | 'events:submit'
  | 'webhooks:read'
  | 'webhooks:manage'
  | 'alerts:read';

/**
 * The authorization matrix (docs/auth.md shows it as a table). Reads are always limited to the
 * token's tenant unless the token is an admin's.
 *
 * - submitters submit, read, cancel and resubmit their tenant's jobs;
 * - viewers read their tenant's jobs and the queue depths;
 * - workers run the worker protocol (register, claim, heartbeat, report outcomes) and read jobs,
 *   all for their token's tenant only: they claim only its jobs, and another tenant's worker, job
 *   or lease answers 404; the lease token of each claim is what lets them act on a job;
 * - cluster workers run the worker protocol for every tenant (a fleet shared by all tenants): they
 *   claim any tenant's jobs and see every worker, and nothing else (docs/auth.md: trust model);
 * - submitters also requeue and purge their tenant's dead letters;
 * - recovery conditions are cluster-wide: everyone but workers sees them (counts of their own
 *   tenant), only admins release, drain or fail them;
 * - admins do everything, for every tenant, including pausing queues.
 */
export const PERMISSIONS: Record<Action, readonly Role[]> = {
  'jobs:submit': ['admin', 'submitter'],
  'jobs:read': ['admin', 'submitter', 'viewer', 'worker'],
  'jobs:cancel': ['admin', 'submitter'],
  'queues:read': ['admin', 'submitter', 'viewer', 'worker'],
  'queues:manage': ['admin'],
  'workers:read': ['admin', 'viewer', 'worker', 'cluster-worker'],
  'workers:work': ['admin', 'worker', 'cluster-worker'],
  'deadletters:manage': ['admin', 'submitter'],
  'recovery:read': ['admin', 'submitter', 'viewer'],
  'recovery:manage': ['admin'],
  'metrics:read': ['admin', 'viewer'],
  // Cron schedules submit jobs for their tenant: those who submit manage them, viewers read them.
  'schedules:read': ['admin', 'submitter', 'viewer'],
  'schedules:manage': ['admin', 'submitter'],
  // Job templates are per tenant: those who submit manage them, viewers read them.
  'templates:read': ['admin', 'submitter', 'viewer'],
  'templates:manage': ['admin', 'submitter'],
  'events:read': ['admin', 'submitter', 'viewer'],
  // Business events in (POST /v1/events): they become the tenant's jobs, so those who submit jobs.
  'events:submit': ['admin', 'submitter'],
  // Webhook subscriptions are per tenant and carry a URL the tenant chose: those who submit own them.
  'webhooks:read': ['admin', 'submitter'],
  'webhooks:manage': ['admin', 'submitter'],
  // Alerts are about the whole cluster (every tenant's queues): those who watch it.
  'alerts:read': ['admin', 'viewer'],
};

/** The authenticated caller. */
export interface Principal {
  /** Who: the token's `sub`. */
  subject: string;
  /** Whose jobs: the token's `tenant`. */
  tenant: string;
  roles: readonly Role[];
  /** Identifies the token for per-token rate limits (its `jti`, else a hash of the token). */
  tokenId: string;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function may(principal: Principal, action: Action): boolean {
  return principal.roles.some((r) => PERMISSIONS[action].includes(r));
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes('admin');
}

/** Whether the worker protocol acts for every tenant with this token (a shared fleet). */
export function isClusterWorker(principal: Principal): boolean {
  return principal.roles.includes('cluster-worker');
}
