import { ManualClock } from '../src/adapters/clock/manual-clock.js';
import { MemoryDispatch } from '../src/adapters/memory/memory-dispatch.js';
import { describeDispatchConformance } from './conformance/dispatch-conformance.js';

describeDispatchConformance('memory', async () => {
  const clock = new ManualClock();
  return { dispatch: new MemoryDispatch(clock), clock, cleanup: async () => {} };
});
