import type { ClaimFilter, FairnessPolicy, TenantShare } from '../ports/dispatch.js';

/**
 * Fairness between tenants inside a queue (config `fairness`): per queue (or `*` for every queue
 * without its own entry), a default share and per-tenant overrides.
 *
 *   "fairness": { "reports": { "default": { "weight": 1, "maxRunning": 20 },
 *                              "tenants": { "acme": { "weight": 3 } } } }
 */
export interface QueueFairness {
  default?: Partial<TenantShare>;
  tenants?: Record<string, Partial<TenantShare>>;
}

export type FairnessConfig = Record<string, QueueFairness>;

export const EQUAL_SHARE: TenantShare = Object.freeze({ weight: 1, maxRunning: null });

/** The policy of a config; an empty config gives every tenant weight 1 and no cap. */
export function fairnessPolicy(config: FairnessConfig = {}): FairnessPolicy {
  const rules = new Map<string, { tenants: Record<string, Partial<TenantShare>>; fallback: TenantShare; capped: boolean }>();
  for (const [queue, q] of Object.entries(config)) {
    const fallback = { ...EQUAL_SHARE, ...q.default };
    const tenants = q.tenants ?? {};
    const capped = fallback.maxRunning != null || Object.values(tenants).some((t) => t.maxRunning != null);
    rules.set(queue, { tenants, fallback, capped });
  }
  const ruleOf = (queue: string) => rules.get(queue) ?? rules.get('*');
  return {
    shareOf(queue, tenant) {
      const r = ruleOf(queue);
      if (!r) return EQUAL_SHARE;
      const own = r.tenants[tenant];
      return own ? { ...r.fallback, ...own } : r.fallback;
    },
    capped: (queue) => ruleOf(queue)?.capped ?? false,
    rulesOf(queue) {
      const r = ruleOf(queue);
      return r ? { tenants: r.tenants, fallback: r.fallback } : null;
    },
  };
}

/** Whether a job of `type` with `labels` passes `filter`. */
export function matchesFilter(filter: ClaimFilter | undefined, type: string | undefined, labels: Record<string, string> | undefined): boolean {
  if (!filter) return true;
  if (filter.types && !(type !== undefined && filter.types.includes(type))) return false;
  if (filter.labels) for (const [k, v] of Object.entries(filter.labels)) if (labels?.[k] !== v) return false;
  return true;
}
