import { Type, type Static } from '@sinclair/typebox';
import type { WebhookPolicy } from '../../domain/webhooks/policy.js';
import { AddressGuard } from '../../net/address-guard.js';
import { ConfigError } from '../errors.js';
import { msOf, Seconds } from '../seconds.js';

/**
 * The `webhooks` section of the configuration file (docs/webhooks.md): how deliveries are retried
 * and when a failing subscription is disabled. Times in seconds, like the rest of the file.
 */
export const WebhooksFileSchema = Type.Object(
  {
    disableAfterFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'failed attempts in a row after which a subscription is disabled' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'tries of one delivery before it is given up' })),
    timeoutSeconds: Type.Optional(Seconds('a receiver silent this long has failed the attempt', { maximum: 300 })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'requests in flight at once' })),
    allowPrivateNetworks: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000, description: 'non-public networks (CIDRs or addresses) webhooks and callbacks may reach; default none' }),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          initialSeconds: Type.Optional(Seconds('wait after the first failed attempt', { maximum: 86_400 })),
          maxSeconds: Type.Optional(Seconds('cap on the wait between attempts', { maximum: 604_800 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The file's section as a partial policy (ms), over the defaults at wiring time; `source` names the file in errors. */
export function webhookRulesOf(section: Static<typeof WebhooksFileSchema> | undefined, source = 'config'): Partial<WebhookPolicy> | undefined {
  if (!section) return undefined;
  const ms = (s: number | undefined) => (s === undefined ? undefined : msOf(s));
  const policy: Partial<WebhookPolicy> = {};
  if (section.disableAfterFailures !== undefined) policy.disableAfterFailures = section.disableAfterFailures;
  if (section.maxAttempts !== undefined) policy.maxAttempts = section.maxAttempts;
  if (section.concurrency !== undefined) policy.concurrency = section.concurrency;
  if (section.timeoutSeconds !== undefined) policy.timeoutMs = ms(section.timeoutSeconds)!;
  if (section.allowPrivateNetworks !== undefined) {
    try {
      new AddressGuard(section.allowPrivateNetworks); // refuses an entry that is no address or CIDR
    } catch (err) {
      throw new ConfigError(`${source}: /webhooks/${(err as Error).message}`);
    }
    policy.allowPrivateNetworks = section.allowPrivateNetworks;
  }
  if (section.backoff) {
    const initialMs = ms(section.backoff.initialSeconds);
    const maxMs = ms(section.backoff.maxSeconds);
    policy.backoff = { ...(initialMs !== undefined ? { initialMs } : {}), ...(maxMs !== undefined ? { maxMs } : {}) } as WebhookPolicy['backoff'];
  }
  return policy;
}
