// The API's shapes as the dashboard reads them (the server's schemas: /openapi.json).

export type JobState = 'scheduled' | 'waiting' | 'ready' | 'running' | 'retrying' | 'blocked' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
export const JOB_STATES: JobState[] = ['scheduled', 'waiting', 'ready', 'running', 'retrying', 'blocked', 'succeeded', 'failed', 'cancelled', 'expired'];
export const FINISHED: JobState[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface Job {
  id: string;
  tenant: string;
  queue: string;
  type: string;
  payload: unknown;
  priority: number;
  labels: Record<string, string>;
  state: JobState;
  stateReason: string | null;
  runAt: string;
  expiresAt: string | null;
  timeoutMs: number | null;
  maxAttempts: number;
  attempt: number;
  linkId: string;
  resubmittedFrom: string | null;
  templateId: string | null;
  templateVersion: number | null;
  dependsOn?: string[];
  dependents?: string[];
  onDependencyFailure?: 'cancel' | 'continue';
  workerId: string | null;
  progress: { percent: number; message?: string } | null;
  condition: string | null;
  result?: unknown;
  errors: { message: string; code?: string; attempt: number; at: string }[];
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type JobPage = { jobs: Job[]; nextCursor: string | null };

export interface QueueStats {
  name: string;
  paused: boolean;
  counts: Record<JobState, number>;
  finished: { succeeded: number; failed: number; cancelled: number; expired: number };
  failureRate: number | null;
  oldestReadyAt: string | null;
  oldestReadyAgeMs: number | null;
  series: { at: string; succeeded: number; failed: number; cancelled: number; expired: number }[];
}

export interface Condition {
  key: string;
  status: 'open' | 'probing' | 'releasing';
  firstSeenAt: string;
  lastSeenAt: string;
  lastError: string;
  failures: number;
  nextProbeAt: string;
  probeFailures: number;
  releasingSince: string | null;
  released: number;
  parked: { queue: string; tenant: string; count: number }[];
  parkedTotal: number;
  /** Jobs per second released now (0 unless releasing). */
  releaseRate: number;
  /** Seconds until every parked job is released at the policy's ramp; null unless releasing. */
  releaseEtaSeconds: number | null;
}

export interface Schedule {
  id: string;
  tenant: string;
  name: string;
  cron: string;
  timezone: string;
  job: { type?: string; queue?: string };
  paused: boolean;
  nextFireAt: string | null;
  lastFireAt: string | null;
  lastJobId: string | null;
  overlap: string;
  upcoming?: { at: string; local: string }[];
}

export interface WorkerInfo {
  id: string;
  name: string | null;
  queues: string[];
  capacity: number;
  labels: Record<string, string>;
  /** The tenant it works for; null: every tenant (cluster workers, the server's in-process worker). */
  tenant: string | null;
  status: 'active' | 'lost';
  registeredAt: string;
  lastHeartbeatAt: string;
}

export interface Template {
  id: string;
  tenant: string;
  version: number;
  description: string | null;
  defaults: Record<string, unknown>;
  retired: boolean;
  usedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Alert {
  id: string;
  rule: string;
  kind: string;
  queue: string | null;
  state: 'firing' | 'resolved';
  value: number;
  threshold: number;
  firedAt: string;
  resolvedAt: string | null;
  message: string;
}

/** A lifecycle event from the SSE stream (docs/events.md). */
export interface DocketEvent {
  id: string;
  type: string;
  time: string;
  tenant: string;
  subject: string;
  data: {
    jobId?: string;
    queue?: string;
    jobType?: string;
    state?: JobState;
    previousState?: JobState | null;
    attempt?: number;
    reason?: string | null;
    workerId?: string | null;
    condition?: string | null;
    error?: string | null;
    progress?: { percent: number; message?: string } | null;
    [k: string]: unknown;
  };
}
