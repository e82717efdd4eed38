/**
 * Routing rules (config `routing`): a job submitted without a queue goes to the queue of the first
 * rule that names its type, exactly or by a prefix ending in `*` (`media.*`). An explicit queue
 * always wins.
 */
export interface RoutingRule {
  types: string[];
  queue: string;
}

export function routeOf(rules: readonly RoutingRule[], type: string): string | undefined {
  for (const rule of rules) {
    for (const t of rule.types) if (t === type || (t.endsWith('*') && type.startsWith(t.slice(0, -1)))) return rule.queue;
  }
  return undefined;
}
