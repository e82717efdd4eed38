import type { JobState } from './states.js';

/** How long finished jobs of one state are kept in a queue: by age, by count, or both. */
export interface KeepRule {
  maxAgeSeconds?: number;
  maxCount?: number;
}

export type FinishedState = Extract<JobState, 'succeeded' | 'failed' | 'cancelled' | 'expired'>;
export const FINISHED_STATES: readonly FinishedState[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export type RetentionRules = Partial<Record<FinishedState, KeepRule>>;

export interface RetentionConfig {
  /** For every queue without its own rules. */
  default: RetentionRules;
  /** Per queue, merged over the default state by state. */
  queues: Record<string, RetentionRules>;
}

/** Succeeded, cancelled and expired jobs for 7 days; failed ones (dead letters) for 30; at most 1M of each per queue. */
export const DEFAULT_RETENTION: RetentionConfig = {
  default: {
    succeeded: { maxAgeSeconds: 7 * 86_400, maxCount: 1_000_000 },
    failed: { maxAgeSeconds: 30 * 86_400, maxCount: 1_000_000 },
    cancelled: { maxAgeSeconds: 7 * 86_400, maxCount: 1_000_000 },
    expired: { maxAgeSeconds: 7 * 86_400, maxCount: 1_000_000 },
  },
  queues: {},
};

export function keepRuleFor(config: RetentionConfig, queue: string, state: FinishedState): KeepRule | undefined {
  return config.queues[queue]?.[state] ?? config.default[state];
}
