import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { RedisDispatch } from '../src/adapters/redis/redis-dispatch.js';
import { describeDispatchConformance } from './conformance/dispatch-conformance.js';
import { openTestPrefix } from './helpers/redis.js';

// Every test gets its own key prefix on the shared Redis; peers share it, as processes would.
describeDispatchConformance('redis', async (fairness) => {
  const { url, prefix, cleanup } = await openTestPrefix();
  const clock = new ManualClock();
  return {
    dispatch: new RedisDispatch({ url, prefix, clock, ...(fairness ? { fairness } : {}) }),
    clock,
    peer: async () => new RedisDispatch({ url, prefix, clock, ...(fairness ? { fairness } : {}) }),
    cleanup,
  };
});
