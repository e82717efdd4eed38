import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../../domain/job-input.js';
import type { CompiledRule } from '../../domain/recovery/classify.js';
import type { RecoveryPolicy } from '../../domain/recovery/policy.js';
import type { RoutingRule } from '../../domain/routing.js';
import type { DedupRule } from '../../domain/dedup.js';
import type { FairnessPolicy } from '../../ports/dispatch.js';
import type { JobCache } from '../../ports/job-cache.js';
import type { JobLogStore } from '../../ports/job-log-store.js';
import { DEFAULT_LOG_CAP_BYTES } from '../../domain/job-log.js';
import type { TemplateService } from '../template-service.js';
import type { TraceCarrier } from '../../domain/trace-context.js';

/** How the job services behave: resolved once by the composition root (src/app/docket.ts). */
export interface JobsOptions {
  /** How long a claim holds a job without a heartbeat. @defaultValue 30 000 ms */
  leaseMs: number;
  limits: InputLimits;
  /** Source of jitter; injected so tests are deterministic. @defaultValue Math.random */
  random: () => number;
  /** Finished jobs kept for reads (production: Redis, 1 h). @defaultValue none */
  cache?: JobCache;
  /** Classification rules for plain errors, and recovery policies per condition (config file). */
  recovery: { rules: CompiledRule[]; policies: RecoveryPolicy[] };
  /** Resolves `templateId` in submits (docs/templates.md). @defaultValue none: such submits are refused */
  templates?: TemplateService;
  /** Dedup rules of the config file (docs/jobs.md#deduplication). @defaultValue none: only jobs with their own dedupKey dedup */
  dedup?: readonly DedupRule[];
  /**
   * Tenant weights and caps (config `fairness`), the ones the dispatch was built with: with caps,
   * running slots are released as jobs stop. @defaultValue none
   */
  fairness?: FairnessPolicy;
  /** Type -> queue rules for submits that name no queue (config `routing`). @defaultValue none */
  routing?: readonly RoutingRule[];
  /** Where handlers' log lines are kept (docs/logs.md). @defaultValue none: lines are dropped */
  logs?: JobLogStore;
  /**
   * Most log kept per job (message and fields, UTF-8 bytes); past it the oldest lines are dropped.
   * Larger: more history of a chatty job, at that much disk per job. @defaultValue 1 MiB
   */
  logCapBytes: number;
}

export const DEFAULT_JOBS_OPTIONS: JobsOptions = { leaseMs: 30_000, limits: DEFAULT_INPUT_LIMITS, random: Math.random, recovery: { rules: [], policies: [] }, logCapBytes: DEFAULT_LOG_CAP_BYTES };

/** Who submits: the tenant every new job belongs to. */
export interface SubmitContext {
  tenant: string;
  resubmittedFrom?: string;
  /**
   * The W3C trace context the submit came with (request headers, a Kafka record's): the jobs'
   * producer spans are its children. Absent: the active context (an in-process submit). docs/tracing.md
   */
  trace?: TraceCarrier | null;
}
