import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { describeDispatchConformance } from './conformance/dispatch-conformance.js';

describeDispatchConformance('memory', async (fairness) => {
  const clock = new ManualClock();
  return { dispatch: new MemoryDispatch(clock, fairness), clock, cleanup: async () => {} };
});
