import { ValidationError, type Issue } from '../../domain/errors.js';
import type { WebhookService } from '../../services/webhooks/service.js';

/**
 * Refuses (400) job callbacks that point at addresses the webhook guard would not deliver to, when
 * the request makes them: POST /v1/jobs, bulk submits, schedules. Each delivery checks again at
 * connect time (src/net/address-guard.ts); this answers the submitter at once instead of failing
 * every attempt later. `items` pairs each body path with the object that may carry `callbackUrl`.
 * Without webhooks no callback is ever delivered, so nothing is checked.
 */
export async function refuseInternalCallbacks(webhooks: WebhookService | undefined, items: readonly { path: string; job: unknown }[]): Promise<void> {
  if (!webhooks) return;
  // Names resolve in parallel (a bulk submit may carry many); issues keep the items' order.
  const perItem = await Promise.all(
    items.map(async ({ path, job }) => {
      const issues: Issue[] = [];
      const url = (job as { callbackUrl?: unknown } | null)?.callbackUrl;
      if (typeof url === 'string') await webhooks.checkTarget(url, `${path}/callbackUrl`, issues);
      return issues;
    }),
  );
  const issues = perItem.flat();
  if (issues.length > 0) throw new ValidationError(issues);
}
